"""The daemon's three roles: reader, infer, events.

Each role owns one job and talks to the others only through the transport and the
database. The same role objects run as threads of one process (``maskwatch run`` on the
in-process transport: all three) or one per process over Redis (``maskwatch reader``,
``infer``, ``events``, and the supervisor's children); ``daemon.host.RoleHost`` runs them
either way, with one health endpoint, one watchdog and one shutdown order.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.dispatcher import Dispatcher
from config.cameras import CameraSettings
from config.settings import Settings
from core import metrics as core_metrics
from daemon import metrics
from daemon.health import Heartbeats
from daemon.wiring import CameraFeed, build_notifiers, build_recorder, schedule_housekeeping
from storage.db import Database
from workers.events import EventStage, run_events
from workers.inference import InferenceStage, run_inference
from workers.reader import CameraReader, reader_session
from workers.transport import Transport

log = logging.getLogger("maskwatch.roles")

# How long a loop may go without a beat, as multiples of ``metrics.loop_timeout_seconds``:
# a reader waits up to ~36 s between reconnects and a stalled camera can block a read
# ~30 s; one outbox round may wait on a slow SMTP server for its timeout.
READER_LIMIT = 1.5
READER_FLOOR_S = 75.0  # 5 s open timeout + 36 s longest reconnect wait + a 30 s stalled read
OUTBOX_LIMIT = 2.0


def consumer_name(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


class Role(ABC):
    """One job of the pipeline, run as threads; started and stopped by its host."""

    name: str

    @abstractmethod
    def start(self, beats: Heartbeats) -> None:
        """Load what the role needs, start its loops, register each loop's heartbeat."""

    @abstractmethod
    def stop(self) -> None:
        """Stop taking work, finish what is in hand, release what the role holds."""

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """Role-specific state for ``/healthz``."""

    @property
    def finished(self) -> bool:
        """True when the role has nothing left to do (every file source played to its end)."""
        return False


class ReaderRole(Role):
    name = "reader"

    def __init__(self, settings: Settings, cameras: list[CameraSettings], transport: Transport, db: Database):
        self.settings = settings
        self.cameras = cameras
        self.feed = CameraFeed(settings, transport, build_recorder(settings, db))
        self.stop_event = threading.Event()
        self.readers: list[CameraReader] = []
        self.threads: list[threading.Thread] = []

    def start(self, beats: Heartbeats) -> None:
        for cam in self.cameras:
            # the truth after a restart: no camera stays "online" on the word of a dead process
            self.feed.on_status(cam.name, "starting", "reader started")
            reader = CameraReader(
                cam, self.feed.on_frame, self.feed.on_status, self.stop_event, session=self._session(cam.name)
            )
            loop = f"reader:{cam.name}"
            reader.beat = beats.register(loop, self.reader_limit_s)
            self.readers.append(reader)
            thread = threading.Thread(target=self._read, args=(reader, beats, loop), name=f"reader-{cam.name}")
            thread.daemon = True
            thread.start()
            self.threads.append(thread)

    @property
    def reader_limit_s(self) -> float:
        return max(READER_FLOOR_S, READER_LIMIT * self.settings.metrics.loop_timeout_seconds)

    def _session(self, camera: str) -> str:
        """This run's session: the camera's next epoch from the database, so that sessions are
        ordered even if the clock steps back; the clock alone while the database is away."""
        now_ms = time.time_ns() // 1_000_000
        try:
            return reader_session(self.feed.recorder.next_reader_epoch(camera, now_ms))
        except Exception as exc:  # noqa: BLE001 - a reader must read even when the database is down
            log.warning("camera %s: reader epoch not recorded (%s); the clock orders this run", camera, exc)
            return reader_session(now_ms)

    @staticmethod
    def _read(reader: CameraReader, beats: Heartbeats, loop: str) -> None:
        reader.run()
        if reader.finished:
            beats.retire(loop)

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        for cam in self.cameras:
            self.feed.on_status(cam.name, "offline", "daemon stopped")

    @property
    def finished(self) -> bool:
        return bool(self.readers) and all(r.finished for r in self.readers)

    @property
    def frames_dropped(self) -> int:
        return self.feed.frames_dropped

    def health(self) -> dict[str, Any]:
        def state(r: CameraReader) -> str:
            if r.finished:
                return "ended"
            return "starting" if r.online is None else ("online" if r.online else "offline")

        return {
            "cameras": {
                r.camera.name: {"state": state(r), "frames_read": r.frames_read, "session": r.session}
                for r in self.readers
            }
        }


class InferenceRole(Role):
    name = "infer"

    def __init__(self, settings: Settings, cameras: list[CameraSettings], transport: Transport):
        self.settings = settings
        self.cameras = cameras
        self.transport = transport
        self.stop_event = threading.Event()
        self.stage: InferenceStage | None = None
        self.thread: threading.Thread | None = None

    def start(self, beats: Heartbeats) -> None:
        stage = InferenceStage(self.settings.inference, self.cameras)
        stage.latency_observer = core_metrics.INFERENCE_SECONDS.observe
        stage.frames_observer = metrics.observe_frames
        self.stage = stage
        beat = beats.register("inference", self.settings.metrics.loop_timeout_seconds)
        self.thread = threading.Thread(
            target=run_inference,
            args=(stage, self.transport, self.stop_event, consumer_name("infer")),
            kwargs={"beat": beat},
            name="inference",
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def health(self) -> dict[str, Any]:
        if self.stage is None:
            return {"inference": "loading"}
        return {"device": self.stage.detector.device, "frames_processed": self.stage.frames_processed}


class EventsRole(Role):
    """Tracking and violations for its cameras; with ``dispatch`` also the outbox and the
    scheduled jobs (one events role per deployment should dispatch)."""

    name = "events"

    def __init__(
        self,
        settings: Settings,
        cameras: list[str],
        transport: Transport,
        db: Database,
        dispatch: bool = True,
        owns_all_cameras: bool = True,
    ):
        self.settings = settings
        self.cameras = cameras
        self.transport = transport
        self.db = db
        self.dispatch = dispatch
        self.owns_all_cameras = owns_all_cameras
        self.recorder = build_recorder(settings, db)
        self.consumer = "events-" + "-".join(cameras)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.stage: EventStage | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.backlog: int | None = None  # alerts waiting, refreshed by the scheduler (health never queries)

    def start(self, beats: Heartbeats) -> None:
        # whatever is open now was opened by a process that died: no events stage owns it
        self.recorder.recover_open(None if self.owns_all_cameras else self.cameras)
        self.stage = EventStage(self.settings, self.recorder, self.cameras)
        self._spawn(
            "events",
            run_events,
            self.stage,
            self.transport,
            self.stop_event,
            self.consumer,
            beat=beats.register("events", self.settings.metrics.loop_timeout_seconds),
        )
        if self.dispatch:
            self.dispatcher = Dispatcher(self.db, build_notifiers(self.settings), self.settings.delivery)
            self.dispatcher.on_delivered = metrics.observe_delivery
            limit = OUTBOX_LIMIT * self.settings.metrics.loop_timeout_seconds
            self._spawn("outbox", self.dispatcher.run, self.stop_event, beat=beats.register("outbox", limit))
            schedule_housekeeping(self.scheduler, self.settings, self.db, self.transport, self._set_backlog)
            self.scheduler.start()

    def _spawn(self, name: str, target: Any, *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _set_backlog(self, waiting: int) -> None:
        self.backlog = waiting

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        busy = [t.name for t in self.threads if t.is_alive()]
        if busy:
            # never two threads in one EventStage: what is open stays open and the next
            # start closes it (recover_open)
            log.warning("%s still busy at stop (a database wait?); open violations are closed at the next start", busy)
        elif self.stage is not None:
            self._drain(self.stage)
            try:
                self.stage.finish()
            except Exception as exc:  # noqa: BLE001 - the database away at stop: the next start closes them
                log.warning("events: open violations not closed at stop (%s); the next start closes them", exc)
        if self.dispatcher is not None:
            self.scheduler.shutdown(wait=False)
            left = self.dispatcher.flush(timeout=10)
            if left:
                log.warning("%d alert(s) still pending; they are kept and sent at the next start", left)
            for n in self.dispatcher.notifiers.values():
                n.close()

    def _drain(self, stage: EventStage) -> None:
        """Judge the detections already published, so the last seconds are not lost at a stop."""
        for _ in range(100):
            try:
                batch = self.transport.read_detections(self.consumer, list(stage.cameras), block_s=0.05)
            except Exception as exc:  # noqa: BLE001 - transport gone: unacked detections stay for the next start
                log.warning("events: could not drain detections at stop: %s", exc)
                return
            if not batch:
                return
            for _token, det in batch:
                stage.push(det)
            stage.release()
            self.transport.ack_detections([t for t, _ in batch])

    def health(self) -> dict[str, Any]:
        return {"outbox_backlog": self.backlog, "events_cameras": self.cameras}


def reader_cameras(settings: Settings, names: list[str] | None) -> list[CameraSettings]:
    return [c for c in settings.cameras if c.enabled and (not names or c.name in names)]
