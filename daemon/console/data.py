"""What the console reads and writes: violations with their review state, reviews, deliveries.

The compliance numbers come from ``storage.queries`` so the console and ``maskwatch stats``
can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import CameraEvent, OutboxAlert, Review, Violation
from storage.queries import ComplianceRow

VERDICTS = ("confirmed", "false_positive")
REASONS = ("masked", "not_a_face", "other")
REVIEW_STATES = ("unreviewed", *VERDICTS)


@dataclass
class ViolationFilter:
    camera: str | None = None
    label: str | None = None
    review: str | None = None  # unreviewed | confirmed | false_positive
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ViolationRow:
    v: Violation
    review: Review | None

    @property
    def state(self) -> str:
        return self.review.verdict if self.review else "unreviewed"

    @property
    def duration_s(self) -> float | None:
        end = self.v.ended_at or self.v.last_seen_at
        return (end - self.v.started_at).total_seconds() if end else None

    def as_json(self) -> dict[str, Any]:
        v = self.v
        return {
            "id": v.id,
            "camera": v.camera,
            "track_id": v.track_id,
            "started_at": v.started_at.isoformat(),
            "ended_at": v.ended_at.isoformat() if v.ended_at else None,
            "duration_s": round(self.duration_s, 1) if self.duration_s is not None else None,
            "label": v.label,
            "score": round(float(v.peak_score), 4),
            "end_reason": v.end_reason,
            "has_snapshot": bool(v.snapshot_path),
            "review": review_json(self.review),
        }


def review_json(r: Review | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "verdict": r.verdict,
        "reason": r.reason,
        "note": r.note,
        "reviewer": r.reviewer,
        "at": r.at.isoformat(),
    }


def _latest_review_ids() -> Any:
    return select(Review.violation_id, func.max(Review.id).label("rid")).group_by(Review.violation_id).subquery()


def violation_page(db: Database, flt: ViolationFilter, limit: int, offset: int) -> tuple[list[ViolationRow], int]:
    """Newest first, with each violation's latest review; and how many match in all."""
    latest = _latest_review_ids()
    rev = aliased(Review)
    q = (
        select(Violation, rev)
        .outerjoin(latest, latest.c.violation_id == Violation.id)
        .outerjoin(rev, rev.id == latest.c.rid)
    )
    conds = []
    if flt.camera:
        conds.append(Violation.camera == flt.camera)
    if flt.label:
        conds.append(Violation.label == flt.label)
    if flt.since:
        conds.append(Violation.started_at >= flt.since)
    if flt.until:
        conds.append(Violation.started_at < flt.until)
    if flt.review == "unreviewed":
        conds.append(rev.id.is_(None))
    elif flt.review in VERDICTS:
        conds.append(rev.verdict == flt.review)
    if conds:
        q = q.where(and_(*conds))
    with db.session() as session:
        total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = session.execute(
            q.order_by(Violation.started_at.desc(), Violation.id.desc()).limit(limit).offset(offset)
        ).all()
    return [ViolationRow(v, r) for v, r in rows], total


@dataclass
class ViolationDetail:
    row: ViolationRow
    deliveries: list[OutboxAlert] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)


def violation_detail(db: Database, violation_id: int) -> ViolationDetail | None:
    with db.session() as session:
        v = session.get(Violation, violation_id)
        if v is None:
            return None
        reviews = list(session.scalars(select(Review).where(Review.violation_id == v.id).order_by(Review.id)).all())
        deliveries = list(
            session.scalars(select(OutboxAlert).where(OutboxAlert.violation_id == v.id).order_by(OutboxAlert.id)).all()
        )
    return ViolationDetail(ViolationRow(v, reviews[-1] if reviews else None), deliveries, reviews)


def add_review(db: Database, violation_id: int, verdict: str, reason: str | None, note: str, reviewer: str) -> Review:
    """A new audit row; raises KeyError when the violation is gone, ValueError on a bad verdict or reason."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    if verdict == "false_positive":
        if reason not in REASONS:
            raise ValueError(f"a false positive needs a reason: {', '.join(REASONS)}")
    else:
        reason = None
    with db.session.begin() as session:
        if session.get(Violation, violation_id) is None:
            raise KeyError(violation_id)
        review = Review(
            violation_id=violation_id,
            verdict=verdict,
            reason=reason,
            note=note[:2000],
            reviewer=reviewer,
            at=datetime.now(UTC),
        )
        session.add(review)
    return review


def camera_events(db: Database, camera: str | None = None, limit: int = 50) -> list[CameraEvent]:
    q = select(CameraEvent).order_by(CameraEvent.at.desc(), CameraEvent.id.desc()).limit(limit)
    if camera:
        q = q.where(CameraEvent.camera == camera)
    with db.session() as session:
        return list(session.scalars(q).all())


def latest_violation_per_camera(db: Database) -> dict[str, Violation]:
    newest = select(Violation.camera, func.max(Violation.id).label("vid")).group_by(Violation.camera).subquery()
    with db.session() as session:
        rows = session.scalars(select(Violation).join(newest, newest.c.vid == Violation.id)).all()
    return {v.camera: v for v in rows}


def outbox_by_channel(db: Database) -> dict[str, dict[str, int]]:
    q = select(OutboxAlert.channel, OutboxAlert.status, func.count()).group_by(OutboxAlert.channel, OutboxAlert.status)
    out: dict[str, dict[str, int]] = {}
    with db.session() as session:
        for channel, status, n in session.execute(q):
            out.setdefault(channel, {})[status] = int(n)
    return out


def stats_rows(rows: list[ComplianceRow], period: str = "hour") -> list[dict[str, Any]]:
    """``maskwatch stats`` rows, per hour or summed per day (same columns, same rate formula)."""
    if period == "day":
        days: dict[tuple[str, str], ComplianceRow] = {}
        for r in rows:
            key = (r.camera, f"{r.hour:%Y-%m-%d}")
            d = days.setdefault(key, ComplianceRow(r.camera, r.hour.replace(hour=0), 0, 0, 0, 0))
            d.with_mask += r.with_mask
            d.without_mask += r.without_mask
            d.incorrect_mask += r.incorrect_mask
            d.violations += r.violations
        rows = sorted(days.values(), key=lambda r: (r.camera, r.hour))
    fmt = "%Y-%m-%d" if period == "day" else "%Y-%m-%d %H:00"
    return [
        {
            "camera": r.camera,
            period: r.hour.strftime(fmt),
            "with_mask": r.with_mask,
            "without_mask": r.without_mask,
            "incorrect_mask": r.incorrect_mask,
            "mask_rate": round(r.mask_rate, 4) if r.mask_rate is not None else None,
            "violations": r.violations,
        }
        for r in rows
    ]


def last_changes(db: Database, after_id: int) -> tuple[list[Violation], list[Violation]]:
    """Violations opened after ``after_id``, and the open ones (to notice when they close)."""
    with db.session() as session:
        new = list(session.scalars(select(Violation).where(Violation.id > after_id).order_by(Violation.id)).all())
        open_ = list(session.scalars(select(Violation).where(Violation.ended_at.is_(None))).all())
    return new, open_


def max_violation_id(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.max(Violation.id))) or 0)
