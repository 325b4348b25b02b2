"""``maskwatch run`` and the roles (``reader``, ``infer``, ``events``), and ``status``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from daemon.cli.common import DEFAULT_CONFIG, db_error_line, emit, fail, load


def cmd_run(args: argparse.Namespace) -> int:
    from daemon.logs import setup_logging

    settings = load(args.config, for_run=True)  # before any model loads: a port in use is one line, not a traceback
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
        raise fail(args, f"cannot open the database: {db_error_line(exc)}") from None


def _host_role(args: argparse.Namespace, role: str, cameras: list[str] | None = None, dispatch: bool = True) -> int:
    """One role in this process (over Redis), as ``maskwatch reader|infer|events``."""
    from daemon.health import SUPERVISOR_DIR_ENV
    from daemon.logs import setup_logging
    from daemon.roles import reader_cameras

    # a supervised child binds no port (the supervisor serves its metrics): nothing to check
    settings = load(args.config, for_run=SUPERVISOR_DIR_ENV not in os.environ)
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


def _camera_states(health: dict[str, Any]) -> dict[str, str]:
    """Each camera's state from a process's ``/healthz``, or from the supervisor's children."""
    hosts = [health] + [(c.get("health") or {}) for c in health.get("children", {}).values()]
    return {
        cam: str(info.get("state", "-"))
        for host in hosts
        for cam, info in host.get("cameras", {}).items()
        if isinstance(info, dict)
    }


def cmd_status(args: argparse.Namespace) -> int:
    """What /healthz and /metrics say, as a table (the daemon must be running)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    settings = load(args.config)
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
    emit(rows, "table", ["camera", "status", "up", "read", "processed", "dropped", "violations"])
    return 0


def register(sub: Any) -> None:
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

    sp = sub.add_parser("status", help="health and metrics of the running daemon, as a table")
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.add_argument("--url", help="base URL of the metrics endpoint (default from the config)")
    sp.set_defaults(func=cmd_status)
