"""The ``maskwatch`` command line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = os.environ.get("MASKWATCH_CONFIG", "config/maskwatch.yaml")


def _load(path: str) -> Any:
    from daemon.config import ConfigError, load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}" if not problem.startswith(path) else problem, file=sys.stderr)
        raise SystemExit(2) from None


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _load(args.file)
    print(f"{args.file}: OK ({len(settings.cameras)} camera(s))")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from daemon.logs import setup_logging
    from daemon.runner import Daemon

    settings = _load(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    if settings.transport.type == "redis":
        from daemon.supervisor import role_commands, supervise

        return supervise(role_commands(args.config))
    daemon = Daemon(settings)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop_event.set())
    daemon.start()
    from daemon.systemd import notify

    notify("READY=1")
    daemon.wait()
    notify("STOPPING=1")
    daemon.shutdown()
    return 0


def _role_settings(args: argparse.Namespace) -> Any:
    from daemon.logs import setup_logging

    settings = _load(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    return settings


def cmd_reader(args: argparse.Namespace) -> int:
    from daemon.roles import run_reader

    return run_reader(_role_settings(args), args.camera)


def cmd_infer(args: argparse.Namespace) -> int:
    from daemon.roles import run_infer

    settings = _role_settings(args)
    if args.device:
        settings = settings.model_copy(
            update={"inference": settings.inference.model_copy(update={"device": args.device})}
        )
    return run_infer(settings)


def cmd_events(args: argparse.Namespace) -> int:
    from daemon.roles import run_events_role

    return run_events_role(_role_settings(args), args.camera, dispatch=not args.no_dispatch)


def cmd_console(args: argparse.Namespace) -> int:
    """Serve the console on its own, or make a password hash / API token for the config."""
    if args.action == "hash-password":
        import getpass

        from daemon.console.auth import hash_password

        if sys.stdin.isatty():
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                print("maskwatch console hash-password: the two passwords differ", file=sys.stderr)
                return 2
        else:
            password = sys.stdin.readline().rstrip("\n")
        if len(password) < 8:
            print("maskwatch console hash-password: use at least 8 characters", file=sys.stderr)
            return 2
        print(hash_password(password))
        return 0
    if args.action == "hash-token":
        import secrets

        from daemon.console.auth import hash_token

        token = secrets.token_urlsafe(32)
        print(f"token (give it to the API client, it is not kept): {token}")
        print(f"token_hash (put it in console.api_tokens): {hash_token(token)}")
        return 0
    from daemon.console.server import ConsoleError, serve
    from daemon.logs import setup_logging
    from storage.db import Database

    settings = _load(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    db = Database(settings.database.url)
    try:
        handle = serve(settings, db)
    except ConsoleError as exc:
        print(f"maskwatch {exc}", file=sys.stderr)
        return 2
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5) and handle.thread is not None and handle.thread.is_alive():
        pass
    handle.stop()
    db.close()
    return 0


def _db(args: argparse.Namespace) -> Any:
    from storage.db import Database

    url = args.db or _load(args.config).database.url
    return Database(url)


def _emit(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=1, default=str))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        print(buf.getvalue(), end="")
    else:
        widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns))
        for r in rows:
            print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def cmd_violations(args: argparse.Namespace) -> int:
    from daemon.timeparse import parse_when
    from storage.queries import list_violations

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until) if args.until else None
    except ValueError as exc:
        print(f"maskwatch violations: {exc}", file=sys.stderr)
        return 2
    db = _db(args)
    rows = [
        {
            "id": v.id,
            "camera": v.camera,
            "track_id": v.track_id,
            "started_at": v.started_at.isoformat(),
            "ended_at": v.ended_at.isoformat() if v.ended_at else None,
            "label": v.label,
            "score": round(v.peak_score, 3),
            "snapshot": v.snapshot_path,
        }
        for v in list_violations(db, args.camera, since, until)
    ]
    _emit(rows, args.format, ["id", "camera", "track_id", "started_at", "ended_at", "label", "score", "snapshot"])
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from daemon.timeparse import parse_when
    from storage.queries import compliance

    db = _db(args)
    since = parse_when(args.since) if args.since else None
    rows = [
        {
            "camera": r.camera,
            "hour": f"{r.hour:%Y-%m-%d %H:00}",
            "with_mask": r.with_mask,
            "without_mask": r.without_mask,
            "incorrect_mask": r.incorrect_mask,
            "mask_rate": f"{r.mask_rate:.1%}" if r.mask_rate is not None else "-",
            "violations": r.violations,
        }
        for r in compliance(db, since=since)
    ]
    _emit(
        rows, args.format, ["camera", "hour", "with_mask", "without_mask", "incorrect_mask", "mask_rate", "violations"]
    )
    return 0


def cmd_cameras(args: argparse.Namespace) -> int:
    from storage.queries import cameras

    rows = [
        {
            "camera": c.name,
            "status": c.status,
            "since": c.status_since.isoformat() if c.status_since else "",
            "source": c.source,
        }
        for c in cameras(_db(args))
    ]
    _emit(rows, args.format, ["camera", "status", "since", "source"])
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """What /healthz and /metrics say, as a table (the daemon must be running)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    settings = _load(args.config)
    base = args.url or f"http://{settings.metrics.host}:{settings.metrics.port}"
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:  # noqa: S310 - loopback URL from config
            health = json.loads(resp.read())
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode()
    except OSError as exc:
        print(f"maskwatch status: no daemon answering on {base}: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {health.get('ok')}  uptime: {health.get('uptime_s')} s  outbox backlog: {health.get('outbox_backlog')}")
    per_camera: dict[str, dict[str, Any]] = {}
    wanted = {
        "maskwatch_frames_read": "read",
        "maskwatch_frames_dropped": "dropped",
        "maskwatch_frames_processed": "processed",
        "maskwatch_camera_up": "up",
        "maskwatch_violations": "violations",
    }
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name.removesuffix("_total")
            if name in wanted and "camera" in sample.labels:
                per_camera.setdefault(sample.labels["camera"], {})[wanted[name]] = int(sample.value)
    rows = [
        {"camera": cam, "status": health.get("cameras", {}).get(cam, "-"), **vals}
        for cam, vals in sorted(per_camera.items())
    ]
    _emit(rows, "table", ["camera", "status", "up", "read", "processed", "dropped", "violations"])
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from daemon.config.settings import Settings
    from daemon.scan import scan_video

    settings = _load(args.config) if args.config else Settings(cameras=[])
    forward = None
    if args.db:
        from daemon.wiring import build_recorder
        from storage.db import Database

        settings = settings.model_copy(update={"database": settings.database.model_copy(update={"url": args.db})})
        forward = build_recorder(settings, Database(args.db))
    total = 0
    for video in args.videos:
        try:
            found = scan_video(Path(video), settings, forward)
        except FileNotFoundError as exc:
            print(f"maskwatch scan: {exc}", file=sys.stderr)
            return 2
        total += len(found)
        for v in found:
            print(
                json.dumps({"video": video, **v.as_json()})
                if args.json
                else f"{video}: violation track {v.track_id} at {v.started_at:%H:%M:%S} {v.label} {v.score:.2f}"
            )
        if not args.json:
            print(f"{video}: {len(found)} violation(s)")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from models.inference_cli import classify_paths

    return classify_paths(args.paths, args.json, args.model)


def cmd_detect(args: argparse.Namespace) -> int:
    from models.inference_cli import detect_paths

    return detect_paths(args.paths, args.json, args.detector, args.classifier, args.imgsz)


def cmd_export(args: argparse.Namespace) -> int:
    from daemon.console.export import export_reviewed

    manifest = export_reviewed(_db(args), Path(args.dir))
    counts: dict[str, int] = {}
    for item in manifest["items"]:
        counts[item["label"]] = counts.get(item["label"], 0) + 1
    shown = ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) or "nothing reviewed yet"
    print(f"{args.dir}: {shown}; {manifest['skipped']} skipped (no crop file or reason 'other')")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    try:
        return _train(args)
    except (ValueError, OSError) as exc:  # bad weights or data paths: say which, no traceback
        print(f"maskwatch train: error: {exc}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    if args.what == "mask":
        from models.mask.train import MaskTrainOptions, train_mask

        out_dir = Path(args.out) if args.out else MaskTrainOptions().out_dir
        name = args.name if args.name != "stage" else None
        train_mask(
            MaskTrainOptions(
                arch=args.arch,
                epochs=args.epochs,
                limit=args.limit,
                out_dir=out_dir,
                init=Path(args.init) if args.init else None,
                size=args.imgsz or MaskTrainOptions().size,
                lr=args.lr,
                augment=args.augment,
                lowres=args.lowres,
                soup=[Path(p) for p in args.soup or []],
                width=args.width,
                layout=args.layout,
                seed=args.seed,
                with_val=args.with_val,
                extra_dirs=[Path(d) for d in args.extra or []],
                name=name,
            )
        )
    else:
        from models.face.train import FaceTrainOptions, train_face

        opts = FaceTrainOptions(
            device=args.device, limit=args.limit, from_scratch=args.from_scratch, ship=not args.no_ship, name=args.name
        )
        if args.epochs:
            opts.epochs = args.epochs
        if args.imgsz:
            opts.imgsz = args.imgsz
        train_face(opts)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.what == "faces":
        from models.face.evaluate import evaluate_faces

        evaluate_faces(write_report=not args.no_report)
    else:
        from models.mask.compare import compare_masks

        compare_masks(write_report=not args.no_report)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.cuda:
        from bench.cuda import run_cuda_bench

        return run_cuda_bench()
    from bench.run import run_bench

    return run_bench(quick=args.quick, smoke=args.smoke)


def cmd_demo(args: argparse.Namespace) -> int:
    from daemon.demo import make_demo_clip

    clip = make_demo_clip(Path(args.out))
    print(clip)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maskwatch", description="Face-mask compliance daemon for video surveillance.")
    sub = p.add_subparsers(dest="command", required=True)

    def with_db(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", default=DEFAULT_CONFIG, help="settings YAML (for the database URL)")
        sp.add_argument("--db", help="database URL (overrides the config)")
        sp.add_argument("--format", choices=["table", "json", "csv"], default="table")

    sp = sub.add_parser("run", help="run the daemon in the foreground (SIGTERM drains and exits)")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("reader", help="role: read cameras into the transport")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.add_argument("--camera", action="append", help="only this camera (repeatable); default all")
    sp.set_defaults(func=cmd_reader)

    sp = sub.add_parser("infer", help="role: detect and classify faces (GPU when present)")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.add_argument("--device", help="auto, cpu or cuda:N (overrides the config)")
    sp.set_defaults(func=cmd_infer)

    sp = sub.add_parser("events", help="role: tracking, violations and alert delivery")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.add_argument("--camera", action="append", help="only this camera (repeatable): partition by camera")
    sp.add_argument("--no-dispatch", action="store_true", help="leave alert delivery to another events process")
    sp.set_defaults(func=cmd_events)

    sp = sub.add_parser("console", help="the web console on its own; hash-password / hash-token for its config")
    sp.add_argument(
        "action",
        nargs="?",
        choices=["serve", "hash-password", "hash-token"],
        default="serve",
        help="serve (default): the console and /api/ over the configured database; hash-password: an argon2 "
        "hash of a password read from the terminal or stdin; hash-token: a new API token and its hash",
    )
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.set_defaults(func=cmd_console)

    cfg = sub.add_parser("config", help="configuration tools").add_subparsers(dest="action", required=True)
    sp = cfg.add_parser("check", help="validate a settings file; every error with its path and line")
    sp.add_argument("file")
    sp.set_defaults(func=cmd_config_check)

    sp = sub.add_parser("violations", help="violation history")
    with_db(sp)
    sp.add_argument("--camera")
    sp.add_argument("--since", help="2h, 30m, 7d or a date (2026-11-26T08:00)")
    sp.add_argument("--until")
    sp.set_defaults(func=cmd_violations)

    sp = sub.add_parser("stats", help="mask compliance per camera and hour")
    with_db(sp)
    sp.add_argument("--since")
    sp.set_defaults(func=cmd_stats)

    sp = sub.add_parser("cameras", help="camera status")
    with_db(sp)
    sp.set_defaults(func=cmd_cameras)

    sp = sub.add_parser("status", help="health and metrics of the running daemon, as a table")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.add_argument("--url", help="base URL of the metrics endpoint (default from the config)")
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("scan", help="run recorded video files through the daemon's pipeline")
    sp.add_argument("videos", nargs="+")
    sp.add_argument("--json", action="store_true", help="one JSON object per violation")
    sp.add_argument("--config", help="settings YAML (thresholds, policy); defaults otherwise")
    sp.add_argument("--db", help="also record into this database URL")
    sp.set_defaults(func=cmd_scan)

    sp = sub.add_parser("classify", help="classify images as face crops")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--model", default="models/mask_classifier.onnx")
    sp.set_defaults(func=cmd_classify)

    sp = sub.add_parser("detect", help="find faces and their mask labels in images, folders or a video")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--detector", default="models/face_detector.onnx")
    sp.add_argument("--classifier", default="models/mask_classifier.onnx")
    sp.add_argument("--imgsz", type=int, default=416)
    sp.set_defaults(func=cmd_detect)

    sp = sub.add_parser("train", help="train the mask classifier or the face detector")
    sp.add_argument("what", choices=["mask", "face"])
    sp.add_argument("--arch", choices=["maskwatch", "thesis"], default="maskwatch")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--imgsz", type=int)
    sp.add_argument("--device", default="cpu", help="face: cpu, 0 (first GPU), ...")
    sp.add_argument("--limit", type=int, help="only this many images per split (quick check)")
    sp.add_argument("--from-scratch", action="store_true", help="face: ignore the shipped weights")
    sp.add_argument("--no-ship", action="store_true", help="face: do not replace the shipped weights")
    sp.add_argument("--name", default="stage", help="face: stage name in the log; mask: file stem under models/mask/")
    sp.add_argument("--out", help="mask: output folder (default models/)")
    sp.add_argument("--init", help="mask: fine-tune these Keras weights (stage 2) instead of starting from scratch")
    sp.add_argument("--lr", type=float, help="mask: peak learning rate")
    sp.add_argument("--augment", type=float, help="mask: CCTV augmentation strength (1 = full)")
    sp.add_argument("--lowres", type=float, help="mask: share of batches scaled down and up (small faces)")
    sp.add_argument(
        "--soup",
        nargs="+",
        metavar="KERAS",
        help="mask: average these fine-tunes' weights into one model (no training)",
    )
    sp.add_argument("--width", type=float, default=1.0, help="mask: channel multiplier of ours")
    sp.add_argument("--layout", choices=["wide", "compact"], default="wide", help="mask: our network's layout")
    sp.add_argument("--seed", type=int, default=0, help="mask: random seed (weights, shuffling, augmentation)")
    sp.add_argument(
        "--with-val",
        action="store_true",
        help="mask: train on the train and val splits, keep the last epoch (the final model of a recipe fixed on val)",
    )
    sp.add_argument(
        "--extra",
        action="append",
        metavar="DIR",
        help="mask: also train on these reviewed crops (DIR/<label>/*.jpg from `maskwatch export reviewed`)",
    )
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("export", help="export data for training")
    sp.add_argument("what", choices=["reviewed"], help="reviewed: the reviewed face crops, by the reviewers' label")
    sp.add_argument("dir", help="output folder: DIR/<label>/<violation id>.jpg and DIR/manifest.json")
    sp.add_argument("--config", default=DEFAULT_CONFIG, help="settings YAML (for the database URL)")
    sp.add_argument("--db", help="database URL (overrides the config)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("eval", help="evaluate the shipped models")
    sp.add_argument("what", choices=["faces", "masks"])
    sp.add_argument("--no-report", action="store_true")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("bench", help="benchmarks against the naive loop")
    sp.add_argument("--quick", action="store_true")
    sp.add_argument("--smoke", action="store_true")
    sp.add_argument("--cuda", action="store_true", help="the detector on the GPU against this box's CPU")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("demo-clip", help="make the demo camera clip again from ../shared's scenes")
    sp.add_argument("--out", default="deploy/demo/demo.mp4")
    sp.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
