"""Writes what the events stage decides: a violation and its pending alerts in one
transaction (the outbox), camera status changes, and people counted per hour."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.alerts import EmailSettings, MqttSettings
from config.webhooks import WebhookSettings
from core.clock import utcnow
from core.violations import OpenedViolation
from storage.db import Database
from storage.models import Camera, CameraEvent, FaceCount, OutboxAlert, Violation
from storage.payloads import violation_payload
from storage.snapshots import SnapshotStore

log = logging.getLogger("maskwatch.storage")


class Recorder:
    """The database side of the events stage (implements ``ViolationSink``)."""

    def __init__(
        self,
        db: Database,
        snapshots: SnapshotStore,
        mqtt: MqttSettings,
        email: EmailSettings,
        webhooks: list[WebhookSettings] | None = None,
    ):
        self.db = db
        self.snapshots = snapshots
        self.mqtt = mqtt
        self.email = email
        self.webhooks = webhooks or []
        self.on_opened: Callable[[str], None] | None = None  # metrics hook: camera name

    def _enqueue(
        self,
        session: Session,
        channel: str,
        kind: str,
        payload: dict[str, object],
        violation_id: int | None = None,
        status: str = "pending",
    ) -> None:
        now = utcnow()
        session.add(
            OutboxAlert(
                violation_id=violation_id,
                channel=channel,
                kind=kind,
                payload=payload,
                status=status,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def opened(self, v: OpenedViolation) -> int | None:
        shot = self.snapshots.write(v.camera, v.started_at, v.track_id, v.frame, v.box)  # never raises
        try:
            with self.db.session.begin() as session:
                row = Violation(
                    camera=v.camera,
                    session=v.session,
                    track_id=v.track_id,
                    first_frame_id=v.first_frame_id,
                    started_at=v.started_at,
                    last_seen_at=v.decided_at or v.started_at,
                    label=v.label,
                    peak_score=v.score,
                    snapshot_path=shot.path,
                    crop_path=shot.crop,
                    snapshot_error=shot.error,
                )
                session.add(row)
                session.flush()
                payload = violation_payload(row, v.decided_at)
                if self.mqtt.enabled:
                    self._enqueue(session, "mqtt", "violation", payload, row.id)
                if self.email.enabled:
                    for rcpt in self.email.recipients:
                        status = "skipped" if self._cooling_down(session, v.camera, rcpt) else "pending"
                        self._enqueue(session, "email", "violation", {**payload, "to": rcpt}, row.id, status)
                for hook in self.webhooks:
                    if hook.wants(v.camera, v.label):
                        self._enqueue(session, "webhook", "violation", {**payload, "webhook": hook.name}, row.id)
                vid = row.id
        except IntegrityError:
            # the same frame delivered twice (a reclaimed or redelivered message): the violation
            # exists already, with its alerts; the track goes on with that row
            existing = self._existing(v)
            log.info("camera %s: violation of track %s already recorded as %s", v.camera, v.track_id, existing)
            return existing
        if self.on_opened is not None:
            self.on_opened(v.camera)
        return vid

    def _existing(self, v: OpenedViolation) -> int | None:
        with self.db.session() as session:
            return session.scalar(
                select(Violation.id).where(
                    Violation.camera == v.camera,
                    Violation.session == v.session,
                    Violation.first_frame_id == v.first_frame_id,
                    Violation.track_id == v.track_id,
                )
            )

    def next_reader_epoch(self, camera: str, at_least: int) -> int:
        """The number of a new reader run of ``camera``: above every earlier one, even after
        the clock stepped back (``at_least`` is the reader's clock in milliseconds)."""
        with self.db.session.begin() as session:
            cam = session.scalar(select(Camera).where(Camera.name == camera).with_for_update())
            if cam is None:
                cam = Camera(name=camera, source="", status="unknown")
                session.add(cam)
            epoch = max(int(cam.reader_epoch or 0) + 1, at_least)
            cam.reader_epoch = epoch
        return epoch

    def seen(self, violation_id: int, at: datetime) -> None:
        """The person is still in view: saved as where a crash recovery would end the
        violation; one that had been ended (their track lost a moment, their camera's reader
        restarted) and was rejoined is open again."""
        with self.db.session.begin() as session:
            session.execute(
                update(Violation)
                .where(Violation.id == violation_id)
                .values(last_seen_at=at, ended_at=None, end_reason=None)
            )

    def recover_open(self, cameras: list[str] | None = None) -> int:
        """End the violations a killed process left open (of ``cameras``, or all).

        Called when the events stage starts, before it judges anything: only one events
        stage owns a camera, so whatever is open then was opened by a process that died
        without closing it. It ends at the last time its person was seen, marked
        ``recovered``. Returns how many were closed.
        """
        query = update(Violation).where(Violation.ended_at.is_(None))
        if cameras is not None:
            query = query.where(Violation.camera.in_(cameras))
        with self.db.session.begin() as session:
            result = session.execute(
                query.values(
                    ended_at=func.coalesce(Violation.last_seen_at, Violation.started_at), end_reason="recovered"
                )
            )
            closed = int(result.rowcount)  # type: ignore[attr-defined]
        if closed:
            log.warning("closed %d violation(s) left open by a process that ended without closing them", closed)
        return closed

    def _cooling_down(self, session: Session, camera: str, recipient: str) -> bool:
        if self.email.cooldown_seconds <= 0:
            return False
        since = utcnow() - timedelta(seconds=self.email.cooldown_seconds)
        rows = session.scalars(
            select(OutboxAlert.payload).where(
                OutboxAlert.channel == "email",
                OutboxAlert.kind == "violation",
                OutboxAlert.status != "skipped",
                OutboxAlert.created_at >= since,
            )
        ).all()
        return any(p.get("camera") == camera and p.get("to") == recipient for p in rows)

    def closed(
        self,
        violation_id: int,
        ended_at: datetime,
        peak_score: float,
        best: OpenedViolation | None,
        reason: str = "track_lost",
    ) -> None:
        with self.db.session.begin() as session:
            row = session.get(Violation, violation_id)
            if row is None:
                return
            row.ended_at = max(ended_at, row.ended_at) if row.ended_at else ended_at
            row.last_seen_at = row.ended_at
            row.end_reason = reason
            row.peak_score = max(row.peak_score, peak_score)
            if row.snapshot_error is not None:  # not written at open: try again, with the better view if any
                shot = (
                    self.snapshots.write(row.camera, row.started_at, row.track_id, best.frame, best.box)
                    if best is not None
                    else self.snapshots.retry(row.camera, row.started_at, row.track_id)
                )
                if shot is not None:
                    row.snapshot_path, row.crop_path, row.snapshot_error = shot
            elif best is not None and row.snapshot_path:
                # a better view came after the alert: refresh the files in place
                self.snapshots.write(row.camera, row.started_at, row.track_id, best.frame, best.box)

    def person_seen(self, camera: str, at: datetime, label: str) -> None:
        hour = at.replace(minute=0, second=0, microsecond=0)
        with self.db.session.begin() as session:
            updated = session.execute(
                update(FaceCount)
                .where(FaceCount.camera == camera, FaceCount.hour == hour, FaceCount.label == label)
                .values(people=FaceCount.people + 1)
            )
            if updated.rowcount == 0:  # type: ignore[attr-defined]
                session.add(FaceCount(camera=camera, hour=hour, label=label, people=1))

    def camera_status(self, camera: str, kind: str, detail: str, source: str = "") -> None:
        now = utcnow()
        with self.db.session.begin() as session:
            cam = session.scalar(select(Camera).where(Camera.name == camera))
            if cam is None:
                cam = Camera(name=camera, source=source)
                session.add(cam)
            if source:
                cam.source = source
            cam.status, cam.status_since = kind, now
            session.add(CameraEvent(camera=camera, kind=kind, at=now, detail=detail))
            if self.mqtt.enabled:
                self._enqueue(
                    session,
                    "mqtt",
                    "status",
                    {"camera": camera, "status": kind, "detail": detail, "at": now.isoformat()},
                )
