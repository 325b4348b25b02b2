"""Read side used by the CLI, the digest and the health endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Camera, FaceCount, OutboxAlert, Violation


def list_violations(
    db: Database,
    camera: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10000,
) -> list[Violation]:
    q = select(Violation).order_by(Violation.started_at, Violation.id).limit(limit)
    if camera:
        q = q.where(Violation.camera == camera)
    if since:
        q = q.where(Violation.started_at >= since)
    if until:
        q = q.where(Violation.started_at < until)
    with db.session() as session:
        return list(session.scalars(q).all())


@dataclass
class ComplianceRow:
    camera: str
    hour: datetime
    with_mask: int
    without_mask: int
    incorrect_mask: int
    violations: int

    @property
    def mask_rate(self) -> float | None:
        total = self.with_mask + self.without_mask + self.incorrect_mask
        return self.with_mask / total if total else None


def compliance(db: Database, since: datetime | None = None, until: datetime | None = None) -> list[ComplianceRow]:
    """People seen by label and violations, per camera and hour."""
    rows: dict[tuple[str, datetime], ComplianceRow] = {}
    q = select(FaceCount.camera, FaceCount.hour, FaceCount.label, FaceCount.people)
    if since:
        q = q.where(FaceCount.hour >= since.replace(minute=0, second=0, microsecond=0))
    if until:
        q = q.where(FaceCount.hour < until)
    with db.session() as session:
        for cam, hour, label, people in session.execute(q):
            row = rows.setdefault((cam, hour), ComplianceRow(cam, hour, 0, 0, 0, 0))
            if label in ("with_mask", "without_mask", "incorrect_mask"):
                setattr(row, label, getattr(row, label) + people)
        for v in list_violations(db, since=since, until=until):
            hour = v.started_at.replace(minute=0, second=0, microsecond=0)
            row = rows.setdefault((v.camera, hour), ComplianceRow(v.camera, hour, 0, 0, 0, 0))
            row.violations += 1
    return sorted(rows.values(), key=lambda r: (r.camera, r.hour))


def cameras(db: Database) -> list[Camera]:
    with db.session() as session:
        return list(session.scalars(select(Camera).order_by(Camera.name)).all())


def outbox_backlog(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(OutboxAlert).where(OutboxAlert.status == "pending")) or 0
        )
