"""Tables of the violation history (SQLAlchemy 2, typed mappings)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text, doc="URL with the password masked")
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_frame_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reader_epoch: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0", doc="the last reader run's number; orders reader sessions"
    )


class CameraEvent(Base):
    __tablename__ = "camera_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # online | offline
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("camera", "session", "first_frame_id", "track_id", name="uq_violation_origin"),
        Index("ix_violations_camera_started", "camera", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    session: Mapped[str] = mapped_column(
        String(32), default="", server_default="", doc="reader session whose frames opened it (ids restart per session)"
    )
    track_id: Mapped[int] = mapped_column(Integer)
    first_frame_id: Mapped[int] = mapped_column(Integer, doc="frame that opened it: makes redelivery idempotent")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, doc="last time the person was seen; where a restart closes what a killed process left open"
    )
    end_reason: Mapped[str | None] = mapped_column(String(16), doc="track_lost | shutdown | recovered")
    label: Mapped[str] = mapped_column(String(16))
    peak_score: Mapped[float] = mapped_column(Float)
    snapshot_path: Mapped[str | None] = mapped_column(Text)
    crop_path: Mapped[str | None] = mapped_column(Text)
    snapshot_error: Mapped[str | None] = mapped_column(Text, doc="why the snapshot files could not be written")


class FaceCount(Base):
    """People seen per camera and hour by label, for compliance rates and digests."""

    __tablename__ = "face_counts"
    __table_args__ = (UniqueConstraint("camera", "hour", "label", name="uq_face_count"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    hour: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    label: Mapped[str] = mapped_column(String(16))
    people: Mapped[int] = mapped_column(Integer, default=0)


class OutboxAlert(Base):
    """One delivery of one violation (or digest) to one channel; written with the violation."""

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # mqtt | email
    kind: Mapped[str] = mapped_column(String(16), default="violation")  # violation | digest | status
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Review(Base):
    """A reviewer's verdict on a violation; every click is a row (the audit trail), the newest one counts."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_violation", "violation_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(16))  # confirmed | false_positive
    reason: Mapped[str | None] = mapped_column(String(16))  # masked | not_a_face | other (false positives)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
