"""The ``maskwatch`` command line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = os.environ.get("MASKWATCH_CONFIG", "config/maskwatch.yaml")


def _load(path: str, for_run: bool = False) -> Any:
    """The settings, or every problem on stderr and exit 2; ``for_run`` also checks this host (ports free)."""
    from config import ConfigError, load_settings

    try:
        return load_settings(path, for_run=for_run)
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

    settings = _load(args.config, for_run=True)  # before any model loads: a port in use is one line, not a traceback
    setup_logging(settings.logging.level, settings.logging.format)
    if settings.transport.type == "redis":
        from daemon.supervisor import role_commands, supervise

        return supervise(role_commands(args.config), settings)
    return _daemon(args, settings).run()


def _daemon(
    args: argparse.Namespace,
    settings: Any,
    roles: tuple[str, ...] = ("reader", "infer", "events"),
    cameras: list[str] | None = None,
    dispatch: bool = True,
) -> Any:
    """The roles hosted by this process; a database it cannot open is one line and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from daemon.runner import Daemon

    try:
        return Daemon(settings, roles, cameras, dispatch)  # opens and migrates the database first
    except SQLAlchemyError as exc:
        raise _fail(args, f"cannot open the database: {_db_error_line(exc)}") from None


def _host_role(args: argparse.Namespace, role: str, cameras: list[str] | None = None, dispatch: bool = True) -> int:
    """One role in this process (over Redis), as ``maskwatch reader|infer|events``."""
    from daemon.health import SUPERVISOR_DIR_ENV
    from daemon.logs import setup_logging
    from daemon.roles import reader_cameras

    # a supervised child binds no port (the supervisor serves its metrics): nothing to check
    settings = _load(args.config, for_run=SUPERVISOR_DIR_ENV not in os.environ)
    setup_logging(settings.logging.level, settings.logging.format)
    if role == "infer" and args.device:
        settings = settings.model_copy(
            update={"inference": settings.inference.model_copy(update={"device": args.device})}
        )
    if cameras and not reader_cameras(settings, cameras):
        print(f"maskwatch {role}: no enabled camera matches {', '.join(cameras)}", file=sys.stderr)
        return 2
    return _daemon(args, settings, (role,), cameras, dispatch).run()


def cmd_reader(args: argparse.Namespace) -> int:
    return _host_role(args, "reader", args.camera)


def cmd_infer(args: argparse.Namespace) -> int:
    return _host_role(args, "infer")


def cmd_events(args: argparse.Namespace) -> int:
    return _host_role(args, "events", args.camera, dispatch=not args.no_dispatch)


def _fail(args: argparse.Namespace, message: str) -> SystemExit:
    """One line on stderr naming the command; the caller raises the returned exit 2."""
    print(f"maskwatch {args.command}: {message}", file=sys.stderr)
    return SystemExit(2)


def _db(args: argparse.Namespace) -> Any:
    """The history database, which must already exist: a mistyped path is an error, not a new empty database."""
    from config.runtime import parse_database_url

    url = args.db or _load(args.config).database.url
    try:
        parsed = parse_database_url(url)
    except ValueError as exc:
        raise _fail(args, str(exc)) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        if not Path(database).is_file():
            raise _fail(args, f"no database at {database} (the daemon creates it; check the path)")
    return _open_db(args, url)


def _open_db(args: argparse.Namespace, url: str) -> Any:
    """``Database(url)``, or one line (the driver's first, masked) and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    try:
        return Database(url)
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(args, f"cannot open the database: {_db_error_line(exc)}") from None


def _db_error_line(exc: Exception) -> str:
    """The driver's first line (psycopg's run over several), masked: it may quote the URL."""
    from workers.sources import mask_url

    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return mask_url(first)


def _when(args: argparse.Namespace, text: str | None) -> Any:
    """``--since``/``--until`` of every history command, through the one time parser."""
    from daemon.timeparse import parse_when

    if not text:
        return None
    try:
        return parse_when(text)
    except ValueError as exc:
        raise _fail(args, str(exc)) from None


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
    from storage.queries import list_violations

    since, until = _when(args, args.since), _when(args, args.until)
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
    from storage.queries import compliance

    since = _when(args, args.since)
    db = _db(args)
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


def _camera_states(health: dict[str, Any]) -> dict[str, str]:
    """Each camera's state from a process's ``/healthz``, or from the supervisor's children."""
    hosts = [health] + [(c.get("health") or {}) for c in health.get("children", {}).values()]
    return {
        cam: str(info.get("state", "-"))
        for host in hosts
        for cam, info in host.get("cameras", {}).items()
        if isinstance(info, dict)
    }


def cmd_alerts(args: argparse.Namespace) -> int:
    """The outbox's dead letters: list the alerts set aside as failed, or requeue one or all
    once the cause is fixed (they are delivered like new ones, attempts from zero)."""
    import re

    from alerts.dispatcher import dead_letters, requeue

    def shown(text: Any) -> Any:  # a hostile camera name must not break (or drive) the terminal
        if args.format == "json" or not isinstance(text, str):
            return text
        return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: repr(m.group())[1:-1], text)

    if args.retry is not None:
        if args.retry != "all" and not args.retry.isdigit():
            print(f"maskwatch alerts: --retry takes an alert id or 'all', not {args.retry!r}", file=sys.stderr)
            return 2
        target = None if args.retry == "all" else int(args.retry)
        count = requeue(_db(args), target)
        if target is not None and count == 0:
            print(f"maskwatch alerts: no failed alert with id {target}", file=sys.stderr)
            return 2
        print(f"requeued {count} alert(s)")
        return 0
    rows = [
        {
            "id": a.id,
            "channel": a.channel,
            "kind": a.kind,
            "violation_id": a.violation_id,
            "camera": shown(a.payload.get("camera")) if isinstance(a.payload, dict) else None,
            "attempts": a.attempts,
            "created_at": a.created_at.isoformat(),
            "last_error": shown(a.last_error),
        }
        for a in dead_letters(_db(args))
    ]
    _emit(
        rows, args.format, ["id", "channel", "kind", "violation_id", "camera", "attempts", "created_at", "last_error"]
    )
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
    states = _camera_states(health)
    rows = [{"camera": cam, "status": states.get(cam, "-"), **vals} for cam, vals in sorted(per_camera.items())]
    _emit(rows, "table", ["camera", "status", "up", "read", "processed", "dropped", "violations"])
    return 0


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

    settings = _load(args.config) if args.config else Settings(cameras=[])
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
            raise _fail(args, problem)
        settings = settings.model_copy(update={"database": settings.database.model_copy(update={"url": args.db})})
        forward = build_recorder(settings, _open_db(args, args.db))
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


def report_media_error(command: str, item: str, exc: OSError, as_json: bool) -> None:
    """One line on stderr per bad file, and with ``--json`` an error object in the output stream."""
    reason = str(exc).removeprefix(f"{item}: ")
    print(f"maskwatch {command}: {item}: {reason}", file=sys.stderr)
    if as_json:
        print(json.dumps({"file": item, "error": reason}), flush=True)


def media_exit_code(missing: int, unreadable: int) -> int:
    """2 when a path does not exist (a typo), 1 when a file could not be read, 0 when all went through."""
    return 2 if missing else 1 if unreadable else 0


def cmd_classify(args: argparse.Namespace) -> int:
    _quiet_media()
    from daemon.inference_cli import classify_paths

    return classify_paths(args.paths, args.json, args.model)


def cmd_detect(args: argparse.Namespace) -> int:
    _quiet_media()
    from daemon.inference_cli import detect_paths

    return detect_paths(args.paths, args.json, args.detector, args.classifier, args.imgsz)


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


def cmd_soak(args: argparse.Namespace) -> int:
    """The real daemon on loopback servers under a fault schedule; one key=value line, exit 0 if every invariant held."""
    try:
        from bench.soak import QUICK_S, SoakOptions, parse_duration, run_soak
    except ImportError as exc:  # aiosmtpd and psutil come with the dev extras
        print(f"maskwatch soak: {exc}; install the dev extras (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    try:
        duration = QUICK_S if args.quick else parse_duration(args.duration)
    except ValueError as exc:
        print(f"maskwatch soak: {exc}", file=sys.stderr)
        return 2
    if not args.quick and duration < 300:
        print(
            "maskwatch soak: --duration must be at least 5m (one cycle of faults); --quick is the short one",
            file=sys.stderr,
        )
        return 2
    workdir = Path(args.workdir) if args.workdir else None
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        print(f"maskwatch soak: --workdir {workdir} is not empty (its database would count)", file=sys.stderr)
        return 2
    try:
        return run_soak(SoakOptions(duration, args.quick, args.seed, args.transport, args.db, workdir))
    except FileNotFoundError as exc:  # no ../shared clips, or a server binary missing
        print(f"maskwatch soak: {exc}", file=sys.stderr)
        return 2


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

    sp = sub.add_parser("alerts", help="alerts that failed delivery.max_attempts times: list or requeue them")
    with_db(sp)
    what = sp.add_mutually_exclusive_group(required=True)
    what.add_argument("--failed", action="store_true", help="list the failed alerts (dead letters)")
    what.add_argument("--retry", metavar="ID|all", help="requeue this failed alert, or all of them")
    sp.set_defaults(func=cmd_alerts)

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
    sp.add_argument("--model", default="mask_classifier.onnx")
    sp.set_defaults(func=cmd_classify)

    sp = sub.add_parser("detect", help="find faces and their mask labels in images, folders or a video")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--detector", default="face_detector.onnx")
    sp.add_argument("--classifier", default="mask_classifier.onnx")
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
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("eval", help="evaluate the shipped models")
    sp.add_argument("what", choices=["faces", "masks"])
    sp.add_argument("--no-report", action="store_true")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("bench", help="benchmarks against the naive loop")
    sp.add_argument("--quick", action="store_true")
    sp.add_argument("--smoke", action="store_true")
    sp.add_argument("--cuda", action="store_true", help="the detector on the GPU against this box's CPU")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("soak", help="soak and chaos: the daemon on loopback servers under faults, then invariants")
    length = sp.add_mutually_exclusive_group()
    length.add_argument("--duration", default="1h", help="how long: 90s, 20m, 1h (default 1h)")
    length.add_argument("--quick", action="store_true", help="one short cycle of faults in about 3 minutes (CI)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the fault schedule")
    sp.add_argument("--transport", choices=["memory", "redis"], default="memory")
    sp.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    sp.add_argument(
        "--workdir", help="keep logs, database and snapshots here (default: a temp dir, removed on success)"
    )
    sp.set_defaults(func=cmd_soak)

    sp = sub.add_parser("demo-clip", help="make the demo camera clip again from ../shared's scenes")
    sp.add_argument("--out", default="deploy/demo/demo.mp4")
    sp.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
