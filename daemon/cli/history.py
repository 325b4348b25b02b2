"""History queries: ``violations``, ``stats``, ``cameras`` and the outbox's ``alerts``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from daemon.cli.common import add_db_options, emit, history_db, when


def cmd_violations(args: argparse.Namespace) -> int:
    from storage.queries import list_violations

    since, until = when(args, args.since), when(args, args.until)
    db = history_db(args)
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
    emit(rows, args.format, ["id", "camera", "track_id", "started_at", "ended_at", "label", "score", "snapshot"])
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from storage.queries import compliance

    since = when(args, args.since)
    db = history_db(args)
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
    emit(
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
        for c in cameras(history_db(args))
    ]
    emit(rows, args.format, ["camera", "status", "since", "source"])
    return 0


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
        count = requeue(history_db(args), target)
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
        for a in dead_letters(history_db(args))
    ]
    emit(rows, args.format, ["id", "channel", "kind", "violation_id", "camera", "attempts", "created_at", "last_error"])
    return 0


def register(sub: Any) -> None:
    sp = sub.add_parser("violations", help="violation history")
    add_db_options(sp)
    sp.add_argument("--camera")
    sp.add_argument("--since", help="2h, 30m, 7d or a date (2026-11-26T08:00)")
    sp.add_argument("--until")
    sp.set_defaults(func=cmd_violations)

    sp = sub.add_parser("stats", help="mask compliance per camera and hour")
    add_db_options(sp)
    sp.add_argument("--since")
    sp.set_defaults(func=cmd_stats)

    sp = sub.add_parser("cameras", help="camera status")
    add_db_options(sp)
    sp.set_defaults(func=cmd_cameras)

    sp = sub.add_parser("alerts", help="alerts that failed delivery.max_attempts times: list or requeue them")
    add_db_options(sp)
    what = sp.add_mutually_exclusive_group(required=True)
    what.add_argument("--failed", action="store_true", help="list the failed alerts (dead letters)")
    what.add_argument("--retry", metavar="ID|all", help="requeue this failed alert, or all of them")
    sp.set_defaults(func=cmd_alerts)
