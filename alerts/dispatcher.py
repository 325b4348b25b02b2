"""Drains the outbox: delivers due alerts, marks them, retries failures with backoff.

Delivered rows are marked in their own transaction right after the channel took them,
so a restart resends nothing already delivered; a channel outage only delays.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from alerts.base import DeliveryError, Notifier
from daemon.config.alerts import DeliverySettings
from storage.db import Database
from storage.models import OutboxAlert
from storage.queries import outbox_backlog
from storage.recorder import utcnow

log = logging.getLogger("maskwatch.alerts")


class Dispatcher:
    def __init__(self, db: Database, notifiers: list[Notifier], settings: DeliverySettings):
        self.db = db
        self.notifiers = {n.channel: n for n in notifiers}
        self.settings = settings
        self.on_delivered: Callable[[OutboxAlert], None] | None = None

    def backoff(self, attempts: int) -> float:
        return min(self.settings.retry_max_seconds, self.settings.retry_initial_seconds * 2 ** max(0, attempts - 1))

    def dispatch_due(self, limit: int = 50) -> int:
        """Try every due alert once; returns how many were delivered."""
        with self.db.session() as session:
            due = session.scalars(
                select(OutboxAlert)
                .where(
                    OutboxAlert.status == "pending",
                    OutboxAlert.next_attempt_at <= utcnow(),
                    OutboxAlert.channel.in_(list(self.notifiers)),
                )
                .order_by(OutboxAlert.id)
                .limit(limit)
            ).all()
        delivered = 0
        failed_channels: set[str] = set()
        for alert in due:
            if alert.channel in failed_channels:
                continue  # one failure per channel per round: keep the order, don't hammer
            try:
                self.notifiers[alert.channel].deliver(alert.kind, alert.payload)
            except DeliveryError as exc:
                failed_channels.add(alert.channel)
                self._mark_failed(alert.id, str(exc))
                continue
            self._mark_delivered(alert.id)
            delivered += 1
            if self.on_delivered is not None:
                self.on_delivered(alert)
        return delivered

    def _mark_delivered(self, alert_id: int) -> None:
        with self.db.session.begin() as session:
            row = session.get(OutboxAlert, alert_id)
            if row is not None:
                row.status, row.delivered_at = "delivered", utcnow()
                row.attempts += 1

    def _mark_failed(self, alert_id: int, error: str) -> None:
        with self.db.session.begin() as session:
            row = session.get(OutboxAlert, alert_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error
            delay = self.backoff(row.attempts)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning(
                "alert %s via %s failed (attempt %s): %s; retry in %.0f s",
                row.id,
                row.channel,
                row.attempts,
                error,
                delay,
            )

    def pending(self) -> int:
        return outbox_backlog(self.db)

    def run(self, stop: threading.Event, beat: Callable[[], None] | None = None) -> None:
        """Deliver until stopped; ``beat`` is called once per round (the process's health)."""
        while not stop.is_set():
            if beat is not None:
                beat()
            try:
                self.dispatch_due()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end delivery
                log.warning("outbox: %s", exc)
            stop.wait(self.settings.poll_seconds)

    def flush(self, timeout: float) -> int:
        """At shutdown: deliver what can be delivered now, within ``timeout`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.session() as session:
                due = session.scalar(
                    select(func.count())
                    .select_from(OutboxAlert)
                    .where(OutboxAlert.status == "pending", OutboxAlert.next_attempt_at <= utcnow())
                )
            if not due:
                break
            if self.dispatch_due() == 0:
                time.sleep(0.2)
        return self.pending()
