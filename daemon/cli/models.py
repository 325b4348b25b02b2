"""The models on files and their training: ``scan``, ``classify``, ``detect``, ``train mask``,
``train face``, ``eval`` and ``demo-clip``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from daemon.cli.common import CommandError, checkout_module, fail, load, media_exit_code, open_db, report_media_error


def _quiet_media() -> None:
    """Offline commands report each bad file in one line of their own: no OpenCV/FFmpeg or reader chatter."""
    import logging

    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # read when cv2 is first imported
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    logging.getLogger("maskwatch.reader").setLevel(logging.CRITICAL)


def cmd_scan(args: argparse.Namespace) -> int:
    _quiet_media()
    from config.settings import Settings
    from daemon.scan import scan_video
    from workers.sources import MediaError

    settings = load(args.config) if args.config else Settings(cameras=[])
    forward = None
    if args.db:
        from config.host import sqlite_path_problem
        from config.runtime import parse_database_url
        from daemon.wiring import build_recorder

        try:  # a new database is fine here (scan records into it), one it cannot create is not
            parsed = parse_database_url(args.db)
            problem = sqlite_path_problem(parsed) if parsed.get_backend_name() == "sqlite" else None
        except ValueError as exc:
            problem = str(exc)
        if problem:
            raise fail(args, problem)
        settings = settings.model_copy(update={"database": settings.database.model_copy(update={"url": args.db})})
        forward = build_recorder(settings, open_db(args, args.db))
    missing = unreadable = 0
    for video in args.videos:
        try:
            found = scan_video(Path(video), settings, forward)
        except (FileNotFoundError, MediaError) as exc:
            missing += isinstance(exc, FileNotFoundError)
            unreadable += isinstance(exc, MediaError)
            report_media_error("scan", video, exc, args.json)
            continue
        for v in found:
            print(
                json.dumps({"video": video, **v.as_json()})
                if args.json
                else f"{video}: violation track {v.track_id} at {v.started_at:%H:%M:%S} {v.label} {v.score:.2f}"
            )
        if not args.json:
            print(f"{video}: {len(found)} violation(s)")
    return media_exit_code(missing, unreadable)


def cmd_classify(args: argparse.Namespace) -> int:
    _quiet_media()
    from daemon.cli.inference import classify_paths

    return classify_paths(args.paths, args.json, args.model)


def cmd_detect(args: argparse.Namespace) -> int:
    _quiet_media()
    from daemon.cli.inference import detect_paths

    return detect_paths(args.paths, args.json, args.detector, args.classifier, args.imgsz, args.tiles, args.mirror)


def _training_errors(run: Any) -> Any:
    """Bad weights or data paths of a training command: say which, as the one error path."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except (ValueError, OSError) as exc:
            raise CommandError(f"error: {exc}") from None

    return guarded


@_training_errors
def cmd_train_mask(args: argparse.Namespace) -> int:
    train = checkout_module("train mask", "models.mask.train")
    defaults = train.MaskTrainOptions()
    train.train_mask(
        train.MaskTrainOptions(
            arch=args.arch,
            epochs=args.epochs,
            limit=args.limit,
            out_dir=Path(args.out) if args.out else defaults.out_dir,
            init=Path(args.init) if args.init else None,
            size=args.imgsz or defaults.size,
            lr=args.lr,
            augment=args.augment,
            lowres=args.lowres,
            hue=args.hue,
            painted=args.painted,
            painted_wrong=args.painted_wrong,
            soup=[Path(p) for p in args.soup or []],
            width=args.width,
            layout=args.layout,
            seed=args.seed,
            with_val=args.with_val,
            name=args.name,
            extra_dirs=[Path(d) for d in args.extra or []],
        )
    )
    return 0


@_training_errors
def cmd_train_face(args: argparse.Namespace) -> int:
    train = checkout_module("train face", "models.face.train")
    opts = train.FaceTrainOptions(
        device=args.device, limit=args.limit, from_scratch=args.from_scratch, ship=not args.no_ship, name=args.name
    )
    if args.scale is not None:
        opts.scale = args.scale
    if args.epochs:
        opts.epochs = args.epochs
    if args.imgsz:
        opts.imgsz = args.imgsz
    train.train_face(opts)
    return 0


CROSS_COLLECTION_ONLY = ("epochs", "fresh", "results", "seed")


def cmd_eval(args: argparse.Namespace) -> int:
    if not args.cross_collection:
        only = CROSS_COLLECTION_ONLY + (("limit",) if args.what == "masks" else ())
        given = [f"--{name}" for name in only if getattr(args, name) not in (None, False)]
        if given:
            raise CommandError(f"error: {', '.join(given)} go with --cross-collection")
    elif args.what != "masks":
        raise CommandError("error: --cross-collection is for masks (eval masks --cross-collection)")
    if args.what == "faces":
        checkout_module("eval faces", "models.face.evaluate").evaluate_faces(
            write_report=not args.no_report, limit=args.limit
        )
    elif args.cross_collection:
        checkout_module("eval masks", "models.mask.crossval").cross_collection(
            write_report=not args.no_report,
            limit=args.limit,
            epochs=args.epochs,
            fresh=args.fresh,
            seed=args.seed or 0,
            **({"out_dir": Path(args.results)} if args.results else {}),
        )
    else:
        checkout_module("eval masks", "models.mask.compare").compare_masks(write_report=not args.no_report)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    clip = checkout_module("demo-clip", "models.demo_clip").make_demo_clip(Path(args.out))
    print(clip)
    return 0


def register(sub: Any) -> None:
    sp = sub.add_parser("scan", help="run recorded video files through the daemon's pipeline")
    sp.add_argument("videos", nargs="+")
    sp.add_argument("--json", action="store_true", help="one JSON object per violation")
    sp.add_argument("--config", help="settings YAML (thresholds, policy); defaults otherwise")
    sp.add_argument("--db", help="also record into this database URL")
    sp.set_defaults(func=cmd_scan)

    sp = sub.add_parser("classify", help="classify images as face crops")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--model", default="mask_classifier.onnx")
    sp.set_defaults(func=cmd_classify)

    sp = sub.add_parser("detect", help="find faces and their mask labels in images, folders or a video")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--detector", default="face_detector.onnx")
    sp.add_argument("--classifier", default="mask_classifier.onnx")
    sp.add_argument("--imgsz", type=int, help="detector input in px (default inference.detect_size's)")
    sp.add_argument(
        "--tiles",
        type=int,
        default=1,
        choices=range(1, 5),
        help="also detect in N overlapping windows across (the camera's detect_tiles)",
    )
    sp.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        help="average each image's pass with its mirror image's (default inference.detect_mirror's)",
    )
    sp.set_defaults(func=cmd_detect)

    train = sub.add_parser("train", help="train the mask classifier or the face detector (from a checkout)")
    what = train.add_subparsers(dest="what", required=True)
    sp = what.add_parser("mask", help="the mask classifier (TensorFlow/Keras, in its own process)")
    sp.add_argument("--arch", choices=["maskwatch", "thesis"], default="maskwatch")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--imgsz", type=int, help="input size (default the architecture's)")
    sp.add_argument("--limit", type=int, help="only this many images per split (quick check)")
    sp.add_argument("--name", help="file stem under models/mask/ (default the architecture's)")
    sp.add_argument("--out", help="output folder (default models/; the ONNX export goes to workers/weights/)")
    sp.add_argument("--init", help="fine-tune these Keras weights (stage 2) instead of starting from scratch")
    sp.add_argument("--lr", type=float, help="peak learning rate")
    sp.add_argument("--augment", type=float, help="CCTV augmentation strength (1 = full)")
    sp.add_argument("--lowres", type=float, help="share of batches scaled down and up (small faces)")
    sp.add_argument(
        "--soup", nargs="+", metavar="KERAS", help="average these fine-tunes' weights into one model (no training)"
    )
    sp.add_argument("--hue", type=float, default=0.0, help="share of images hue-rotated (mask colours)")
    sp.add_argument("--painted", action="store_true", help="also train on bare faces with painted masks")
    sp.add_argument(
        "--painted-wrong",
        type=float,
        default=1.0,
        metavar="SHARE",
        help="keep this share of the painted faces worn wrong (0-1; the cross-collection rows measure it)",
    )
    sp.add_argument("--width", type=float, default=1.0, help="channel multiplier of ours")
    sp.add_argument("--layout", choices=["wide", "compact"], default="wide", help="our network's layout")
    sp.add_argument("--seed", type=int, default=0, help="random seed (weights, shuffling, augmentation)")
    sp.add_argument(
        "--with-val",
        action="store_true",
        help="train on the train and val splits, keep the last epoch (the final model of a recipe fixed on val)",
    )
    sp.add_argument(
        "--extra",
        action="append",
        metavar="DIR",
        help="also train on these reviewed crops (DIR/<label>/*.jpg from `maskwatch export reviewed`)",
    )
    sp.set_defaults(func=cmd_train_mask)
    sp = what.add_parser("face", help="the face detector (ultralytics)")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--imgsz", type=int)
    sp.add_argument("--device", default="cpu", help="cpu, 0 (first GPU), ...")
    sp.add_argument("--limit", type=int, help="only this many images per split (quick check)")
    sp.add_argument("--from-scratch", action="store_true", help="ignore the shipped weights")
    sp.add_argument("--no-ship", action="store_true", help="do not replace the shipped weights")
    sp.add_argument("--name", default="stage", help="stage name in the log")
    sp.add_argument(
        "--scale", type=float, help="random zoom gain (default 0.5: 0.5-1.5x); higher shows more small faces"
    )
    sp.set_defaults(func=cmd_train_face)

    sp = sub.add_parser("eval", help="evaluate the shipped models")
    sp.add_argument("what", choices=["faces", "masks"])
    sp.add_argument("--no-report", action="store_true")
    sp.add_argument(
        "--cross-collection",
        action="store_true",
        help="masks: leave each collection out in turn, train every recipe on the others, test on it",
    )
    sp.add_argument(
        "--limit", type=int, help="quick check: faces, the first N val scenes; --cross-collection, N faces per split"
    )
    sp.add_argument("--epochs", type=int, help="--cross-collection: epochs per fold instead of each recipe's")
    sp.add_argument("--fresh", action="store_true", help="--cross-collection: train again what is already recorded")
    sp.add_argument("--seed", type=int, help="--cross-collection: random seed of every training (default 0)")
    sp.add_argument(
        "--results", help="--cross-collection: folder of the per-fold results (default models/mask/crossval/)"
    )
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("demo-clip", help="make the demo camera clip again from ../shared's scenes")
    sp.add_argument("--out", default="deploy/demo/demo.mp4")
    sp.set_defaults(func=cmd_demo)
