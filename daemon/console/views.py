"""What a page and its ``/api/`` twin both show: cameras, compliance (and its CSV), health, and
the one way a review is recorded.

Built here once so the HTML pages and the JSON API cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response

from daemon.console import data
from daemon.console.auth import Principal
from daemon.console.deps import when
from daemon.console.state import Console
from storage.queries import cameras as camera_rows
from storage.queries import compliance, outbox_backlog

log = logging.getLogger("maskwatch.console")


def review(
    console: Console, who: Principal, violation_id: int, verdict: str, reason: str | None, note: str
) -> dict[str, Any]:
    """Record ``who``'s verdict on a violation (reviewers only), from the form or the API."""
    if not who.can_review:
        raise HTTPException(403, f"{who.name} is a {who.role}; reviews need the reviewer role")
    try:
        added = data.add_review(console.db, violation_id, verdict, reason, note, who.name)
    except KeyError:
        raise HTTPException(404, f"no violation {violation_id}") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    log.info("console: %s marked violation %d %s", who.name, violation_id, verdict)
    return data.review_json(added) or {}


def in_process_frames() -> dict[str, dict[str, int]]:
    """Frames read / processed / dropped per camera, when the pipeline runs in this process."""
    from prometheus_client import REGISTRY

    wanted = {
        "maskwatch_frames_read_total": "read",
        "maskwatch_frames_processed_total": "processed",
        "maskwatch_frames_dropped_total": "dropped",
    }
    out: dict[str, dict[str, int]] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name in wanted and "camera" in sample.labels:
                out.setdefault(sample.labels["camera"], {})[wanted[sample.name]] = int(sample.value)
    return out


def cameras_json(console: Console) -> list[dict[str, Any]]:
    """Each camera's status, frame counts, latest violation and its 20 most recent events."""
    frames = in_process_frames()
    latest = data.latest_violation_per_camera(console.db)
    events = data.camera_events(console.db, limit=500)
    out = []
    for c in camera_rows(console.db):
        last = latest.get(c.name)
        out.append(
            {
                "name": c.name,
                "status": c.status,
                "since": c.status_since.isoformat() if c.status_since else None,
                "source": c.source,
                "frames": frames.get(c.name),
                "live_frame": console.frames is not None and c.name in console.frames,
                "latest_violation_id": last.id if last else None,
                "events": [
                    {"kind": e.kind, "at": e.at.isoformat(), "detail": e.detail} for e in events if e.camera == c.name
                ][:20],
            }
        )
    return out


def stats(console: Console, since: str | None, period: str) -> list[dict[str, Any]]:
    """Compliance per camera and hour or day since ``since``; a bad ``since`` is a 422."""
    return data.stats_rows(compliance(console.db, since=when(since, "since")), period)


def stats_csv(rows: list[dict[str, Any]], period: str) -> Response:
    """``stats`` rows as a CSV download."""
    buf = io.StringIO()
    columns = ["camera", period, "with_mask", "without_mask", "incorrect_mask", "mask_rate", "violations"]
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="maskwatch-compliance-{period}.csv"'},
    )


def health_json(console: Console) -> dict[str, Any]:
    """The daemon's own health report (or why it failed), the outbox backlog and the models in use."""
    daemon = None
    if console.health is not None:
        try:
            daemon = console.health()
        except Exception as exc:  # noqa: BLE001 - the page shows what went wrong instead
            daemon = {"ok": False, "error": str(exc)}
    return {
        "version": package_version(),
        "daemon": daemon,
        "outbox_backlog": outbox_backlog(console.db),
        "outbox": data.outbox_by_channel(console.db),
        "models": console.model_files(),
        "transport": console.settings.transport.type,
    }


def package_version() -> str:
    """The installed maskwatch version; ``unknown`` from a checkout that was never installed."""
    try:
        return version("maskwatch")
    except PackageNotFoundError:
        return "unknown"
