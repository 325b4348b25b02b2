"""Retention: old violations, events, counts and delivered alerts go, with their snapshot files."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from storage.db import Database
from storage.models import CameraEvent, FaceCount, OutboxAlert, Violation
from storage.recorder import utcnow
from storage.snapshots import SnapshotStore


def purge_older_than(db: Database, days: float, now: datetime | None = None) -> int:
    """Delete rows older than ``days`` and their snapshot files; returns violations removed."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    with db.session.begin() as session:
        old = session.execute(
            select(Violation.id, Violation.snapshot_path, Violation.crop_path).where(Violation.started_at < cutoff)
        ).all()
        ids = [row.id for row in old]
        if ids:
            session.execute(delete(OutboxAlert).where(OutboxAlert.violation_id.in_(ids)))
            session.execute(delete(Violation).where(Violation.id.in_(ids)))
        session.execute(delete(CameraEvent).where(CameraEvent.at < cutoff))
        session.execute(delete(FaceCount).where(FaceCount.hour < cutoff))
        session.execute(delete(OutboxAlert).where(OutboxAlert.created_at < cutoff, OutboxAlert.status != "pending"))
    for row in old:  # files after the commit: a crash in between leaves files, never dangling rows
        SnapshotStore.delete(row.snapshot_path, row.crop_path)
    return len(ids)
