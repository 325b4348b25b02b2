"""The pieces every process of the daemon wires the same way, whether the roles run as
threads of one process (``runner``) or as processes of their own (``roles``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.base import Notifier
from alerts.digest import queue_digest
from config.settings import Settings
from core import metrics as core_metrics
from core.messages import Frame
from daemon import metrics
from storage.db import Database
from storage.payloads import set_public_url
from storage.queries import outbox_backlog
from storage.recorder import Recorder
from storage.retention import purge_older_than
from storage.snapshots import SnapshotStore
from workers.sources import mask_url
from workers.transport import Transport

log = logging.getLogger("maskwatch.daemon")


def build_notifiers(settings: Settings) -> list[Notifier]:
    notifiers: list[Notifier] = []
    if settings.mqtt.enabled:
        from alerts.mqtt import MqttNotifier

        notifiers.append(MqttNotifier(settings.mqtt))
    if settings.email.enabled:
        from alerts.email import EmailNotifier

        notifiers.append(EmailNotifier(settings.email))
    if settings.webhooks:
        from alerts.webhook import WebhookNotifier

        notifiers.append(WebhookNotifier(settings.webhooks))
    return notifiers


def build_recorder(settings: Settings, db: Database) -> Recorder:
    store = SnapshotStore(settings.snapshots.dir, settings.snapshots.jpeg_quality)
    set_public_url(settings.console.public_url)  # the payloads the recorder builds link the console
    recorder = Recorder(db, store, settings.mqtt, settings.email, settings.webhooks)
    recorder.on_opened = metrics.observe_violation
    return recorder


class CameraFeed:
    """What a reader's frames and status changes turn into: transport, metrics, database."""

    def __init__(self, settings: Settings, transport: Transport, recorder: Recorder):
        self.settings = settings
        self.transport = transport
        self.recorder = recorder
        self.frames_dropped = 0
        self.latest: dict[str, Frame] = {}  # each camera's last sampled frame, for the console's thumbnail

    def on_frame(self, frame: Frame) -> None:
        core_metrics.FRAMES_READ.labels(frame.camera).inc()
        self.latest[frame.camera] = frame  # a reference, no copy: encoded only when someone looks
        try:
            dropped = self.transport.publish_frame(frame)
        except Exception as exc:  # noqa: BLE001 - transport away: this frame is lost, the reader goes on
            dropped = 1
            log.warning("camera %s: frame not queued: %s", frame.camera, exc)
        if dropped:
            self.frames_dropped += dropped
            core_metrics.FRAMES_DROPPED.labels(frame.camera).inc(dropped)

    def on_status(self, camera: str, kind: str, detail: str) -> None:
        log.info("camera %s %s: %s", camera, kind, detail)
        core_metrics.CAMERA_UP.labels(camera).set(1 if kind == "online" else 0)
        try:
            self.recorder.camera_status(camera, kind, detail, mask_url(self.settings.camera(camera).url))
        except Exception as exc:  # noqa: BLE001 - status is best effort, frames go on
            log.warning("camera %s: could not record status: %s", camera, exc)


def schedule_housekeeping(
    scheduler: BackgroundScheduler,
    settings: Settings,
    db: Database,
    transport: Transport | None = None,
    on_backlog: Callable[[int], None] | None = None,
) -> None:
    """Retention (hourly, first run now), the daily digest, and the backlog gauges (also
    handed to ``on_backlog``, so health reports it without a query of its own)."""
    scheduler.add_job(
        purge_older_than,
        "interval",
        hours=1,
        args=[db, settings.snapshots.retention_days],
        kwargs={"snapshots_dir": settings.snapshots.dir},
        id="retention",
        next_run_time=datetime.now(UTC),
    )
    if settings.email.enabled and settings.email.digest.enabled:
        scheduler.add_job(queue_digest, "cron", hour=settings.email.digest.hour, args=[db], id="digest", timezone=None)

    def gauges() -> None:
        waiting = outbox_backlog(db)
        core_metrics.OUTBOX_BACKLOG.set(waiting)
        if on_backlog is not None:
            on_backlog(waiting)
        if transport is not None:
            metrics.observe_backlog(transport.backlog())

    scheduler.add_job(gauges, "interval", seconds=5, id="gauges", next_run_time=datetime.now(UTC))


def serve_metrics(settings: Settings, health: Callable[[], dict[str, Any]]) -> metrics.HealthServer | None:
    if not settings.metrics.enabled:
        return None
    server = metrics.HealthServer(settings.metrics.host, settings.metrics.port, health)
    server.start()
    log.info("metrics on http://%s:%s/metrics", settings.metrics.host, server.port)
    return server
