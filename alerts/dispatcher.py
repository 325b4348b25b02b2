"""Drains the outbox: delivers due alerts, marks them, retries failures with backoff.

Delivered rows are marked in their own transaction right after the channel took them,
so a restart resends nothing already delivered; a channel outage only delays. Whatever
one alert's delivery raises fails that alert alone and the round goes on; after
``delivery.max_attempts`` failures the alert is set aside as ``failed`` (a dead letter:
``maskwatch alerts --failed`` lists them, ``--retry`` requeues). An alert in flight (MQTT:
published, the broker's ack not seen yet) stays pending and is asked about again, never
sent a second time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update

from alerts.base import ChannelDownError, DeliveryError, Notifier
from config.alerts import DeliverySettings
from core.backoff import exponential_delay
from core.clock import utcnow
from core.metrics import ALERTS_FAILED
from storage.db import Database
from storage.models import OutboxAlert
from storage.queries import outbox_backlog

log = logging.getLogger("maskwatch.alerts")


def _describe(exc: BaseException) -> str:
    """What goes to ``last_error``: a DeliveryError's own words, anything else with its type."""
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    return text[:500]


class Dispatcher:
    def __init__(self, db: Database, notifiers: list[Notifier], settings: DeliverySettings):
        self.db = db
        self.notifiers = {n.channel: n for n in notifiers}
        self.settings = settings
        self.on_delivered: Callable[[OutboxAlert], None] | None = None
        # channel -> (failed tries in a row while unreachable, monotonic time of its next try)
        self._down: dict[str, tuple[int, float]] = {}

    def backoff(self, attempts: int) -> float:
        return exponential_delay(attempts - 1, self.settings.retry_initial_seconds, self.settings.retry_max_seconds)

    def dispatch_due(self, limit: int = 50, beat: Callable[[], None] | None = None) -> int:
        """Try every due alert once; returns how many were delivered. ``beat`` is called per
        alert: a round of slow mail servers is long, but not wedged."""
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
        for alert in due:
            if beat is not None:
                beat()
            if self._down.get(alert.channel, (0, 0.0))[1] > time.monotonic():
                continue  # unreachable: the rest of the channel waits for its next try
            try:
                taken = self.notifiers[alert.channel].deliver(alert.id, alert.kind, alert.payload)
            except ChannelDownError as exc:
                self._channel_down(alert, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - whatever one alert raises fails that alert alone
                self._mark_failed(alert.id, _describe(exc))
                continue
            self._down.pop(alert.channel, None)
            if not taken:
                continue  # in flight: asked about again next round, never sent twice
            self._mark_delivered(alert.id)
            delivered += 1
            if self.on_delivered is not None:
                try:
                    self.on_delivered(alert)
                except Exception as exc:  # noqa: BLE001 - a metrics hook must not stop delivery
                    log.warning("outbox: delivery hook: %s", exc)
        return delivered

    def _mark_delivered(self, alert_id: int) -> None:
        with self.db.session.begin() as session:
            row = session.get(OutboxAlert, alert_id)
            if row is not None:
                row.status, row.delivered_at = "delivered", utcnow()
                row.attempts += 1

    def _channel_down(self, alert: OutboxAlert, error: str) -> None:
        """Back off the whole channel; the alert keeps its attempts (an outage or a deferral only delays)."""
        streak = self._down.get(alert.channel, (0, 0.0))[0] + 1
        delay = self.backoff(streak)
        self._down[alert.channel] = (streak, time.monotonic() + delay)
        with self.db.session.begin() as session:
            row = session.get(OutboxAlert, alert.id)
            if row is not None:
                row.last_error = error
        log.warning("%s unreachable: %s; alerts wait, next try in %.0f s", alert.channel, error, delay)

    def _mark_failed(self, alert_id: int, error: str) -> None:
        with self.db.session.begin() as session:
            row = session.get(OutboxAlert, alert_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error
            if row.attempts >= self.settings.max_attempts:
                row.status = "failed"
                ALERTS_FAILED.labels(row.channel).inc()
                log.error(
                    "alert %s via %s failed %s times, set aside (maskwatch alerts --failed): %s",
                    row.id,
                    row.channel,
                    row.attempts,
                    error,
                )
                return
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
        """Deliver until stopped; ``beat`` is called every round and alert (the process's health)."""
        while not stop.is_set():
            if beat is not None:
                beat()
            try:
                self.dispatch_due(beat=beat)
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end delivery
                log.warning("outbox: %s", exc)
            stop.wait(self.settings.poll_seconds)

    def flush(self, timeout: float) -> int:
        """At shutdown: deliver what can be delivered now (and wait for acks of alerts in
        flight) within ``timeout`` seconds; returns how many stay pending, -1 if the
        database could not say. Never raises: shutdown goes on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.db.session() as session:
                    due = session.scalar(
                        select(func.count())
                        .select_from(OutboxAlert)
                        .where(
                            OutboxAlert.status == "pending",
                            OutboxAlert.next_attempt_at <= utcnow(),
                            OutboxAlert.channel.in_(list(self.notifiers)),
                        )
                    )
                if not due:
                    break
                if self.dispatch_due() == 0:
                    time.sleep(0.2)
            except Exception as exc:  # noqa: BLE001 - shutdown must finish
                log.warning("outbox flush: %s", exc)
                time.sleep(0.2)
        try:
            return self.pending()
        except Exception as exc:  # noqa: BLE001
            log.warning("outbox flush: %s", exc)
            return -1


def dead_letters(db: Database) -> list[OutboxAlert]:
    """The alerts set aside as ``failed``, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(select(OutboxAlert).where(OutboxAlert.status == "failed").order_by(OutboxAlert.id)).all()
        )


def requeue(db: Database, alert_id: int | None = None) -> int:
    """Put one failed alert (or all, ``None``) back in the outbox with fresh attempts; returns how many."""
    statement = (
        update(OutboxAlert)
        .where(OutboxAlert.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
    )
    if alert_id is not None:
        statement = statement.where(OutboxAlert.id == alert_id)
    with db.session.begin() as session:
        return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
