"""The embedded all-in-one daemon: readers, inference, events, outbox and scheduler as
threads of one process over the in-process transport."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.dispatcher import Dispatcher
from daemon import metrics
from daemon.config.settings import Settings
from daemon.console.server import start_console
from daemon.wiring import CameraFeed, build_notifiers, build_recorder, schedule_housekeeping, serve_metrics
from storage.db import Database
from storage.queries import outbox_backlog
from workers.events import EventStage, run_events
from workers.inference import InferenceStage, run_inference
from workers.reader import CameraReader
from workers.sources import mask_url
from workers.transport import Transport, open_transport

log = logging.getLogger("maskwatch.daemon")


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.stop_event = threading.Event()
        self.db = Database(settings.database.url)
        self.recorder = build_recorder(settings, self.db)
        self.cameras = [c for c in settings.cameras if c.enabled]
        self.transport: Transport = open_transport(settings.transport, [c.name for c in self.cameras])
        self.feed = CameraFeed(settings, self.transport, self.recorder)
        self.notifiers = build_notifiers(settings)
        self.dispatcher = Dispatcher(self.db, self.notifiers, settings.delivery)
        self.dispatcher.on_delivered = metrics.observe_delivery
        self.readers: list[CameraReader] = []
        self.threads: list[threading.Thread] = []
        self.worker_stop = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.health_server: metrics.HealthServer | None = None
        self.started_at = time.time()
        self.event_stage: EventStage | None = None
        self.inference_stage: InferenceStage | None = None

    @property
    def frames_dropped(self) -> int:
        return self.feed.frames_dropped

    def health(self) -> dict[str, Any]:
        alive = all(t.is_alive() for t in self.threads) and not self.stop_event.is_set()
        return {
            "ok": alive,
            "uptime_s": round(time.time() - self.started_at, 1),
            "cameras": {r.camera.name: ("online" if r.online else "offline") for r in self.readers},
            "outbox_backlog": outbox_backlog(self.db),
        }

    def start(self) -> None:
        for cam in self.cameras:
            self.recorder.camera_status(cam.name, "starting", "daemon started", mask_url(cam.url))
        stage = InferenceStage(self.settings.inference, self.cameras)
        stage.latency_observer = metrics.INFERENCE_SECONDS.observe
        stage.frames_observer = metrics.observe_frames
        self.inference_stage = stage
        self.event_stage = EventStage(self.settings, self.recorder)
        self._spawn("inference", run_inference, stage, self.transport, self.worker_stop, "inference-0")
        self._spawn("events", run_events, self.event_stage, self.transport, self.worker_stop, "events-0")
        self._spawn("outbox", self.dispatcher.run, self.worker_stop)
        for cam in self.cameras:
            reader = CameraReader(cam, self.feed.on_frame, self.feed.on_status, self.stop_event)
            self.readers.append(reader)
            self._spawn(f"reader-{cam.name}", reader.run)
        schedule_housekeeping(self.scheduler, self.settings, self.db, self.transport)
        self.scheduler.start()
        self.health_server = serve_metrics(self.settings, self.health)
        self.console = start_console(self.settings, self.db, self.health, frames=self.feed.latest)
        log.info("maskwatch running: %d camera(s)", len(self.cameras))
        if not self.cameras:
            log.warning("no camera is configured and enabled: nothing is being watched")

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait(self) -> None:
        while not self.stop_event.wait(0.5):
            if self.readers and all(r.finished for r in self.readers):
                log.info("every source has ended")
                break

    def shutdown(self, drain_timeout: float = 10.0) -> int:
        """Stop reading, let queued frames through, close open violations, flush the outbox."""
        self.stop_event.set()
        for t in self.threads:
            if t.name.startswith("reader-"):
                t.join(timeout=10)
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline and any(self.transport.backlog().values()):
            time.sleep(0.1)
        time.sleep(0.5)  # let the last detections reach the events stage
        self.worker_stop.set()
        for t in self.threads:
            t.join(timeout=10)
        for cam in self.cameras:
            self.feed.on_status(cam.name, "offline", "daemon stopped")
        if self.event_stage is not None:
            self.event_stage.finish()
        self.scheduler.shutdown(wait=False)
        left = self.dispatcher.flush(timeout=drain_timeout)
        if left:
            log.warning("%d alert(s) still pending; they are kept and sent at the next start", left)
        for n in self.notifiers:
            n.close()
        if self.health_server is not None:
            self.health_server.stop()
        self.transport.close()
        self.console.stop()
        self.db.close()
        log.info("maskwatch stopped")
        return left
