"""Retention: old violations, events, counts and delivered alerts go, with their snapshot files;
so do snapshot files that no violation references."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from core.clock import utcnow
from storage.db import Database
from storage.models import CameraEvent, FaceCount, OutboxAlert, Violation
from storage.snapshots import SnapshotStore

ORPHAN_MIN_AGE_SECONDS = 3600.0
"""An unreferenced snapshot file younger than this may be a write whose row is not committed yet."""


def purge_older_than(
    db: Database, days: float, now: datetime | None = None, snapshots_dir: str | Path | None = None
) -> int:
    """Delete rows older than ``days`` and their snapshot files (and, given ``snapshots_dir``,
    the orphans there); returns violations removed."""
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
    if snapshots_dir is not None:
        remove_orphan_snapshots(db, snapshots_dir)
    return len(ids)


def remove_orphan_snapshots(db: Database, root: str | Path, min_age_seconds: float = ORPHAN_MIN_AGE_SECONDS) -> int:
    """Delete the snapshot files under ``root`` that no violation references and that are
    older than ``min_age_seconds`` (a crash between the files and their row, a partial
    ``.part`` write, a violation deleted by hand); returns how many went."""
    root = Path(root)
    if not root.is_dir():
        return 0
    with db.session() as session:
        referenced = {
            Path(p).resolve()
            for pair in session.execute(select(Violation.snapshot_path, Violation.crop_path))
            for p in pair
            if p
        }
    cutoff = time.time() - min_age_seconds
    removed = 0
    for path in root.rglob("*"):
        if not path.name.endswith((".jpg", ".jpg.part")) or path.is_symlink() or not path.is_file():
            continue
        try:
            if path.stat().st_mtime > cutoff or path.resolve() in referenced:
                continue
            path.unlink()
        except OSError:
            continue  # gone meanwhile or not ours to delete: the next run sees it again
        removed += 1
    return removed
