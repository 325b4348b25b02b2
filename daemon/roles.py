"""The daemon's roles as separate processes over Redis: reader, infer, events.

Each role owns one job and talks to the others only through the transport and the
database; ``maskwatch run`` with ``transport.type: redis`` supervises one of each.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.dispatcher import Dispatcher
from daemon import metrics
from daemon.config.settings import Settings
from daemon.console.server import start_console
from daemon.systemd import notify
from daemon.wiring import CameraFeed, build_notifiers, build_recorder, schedule_housekeeping, serve_metrics
from storage.db import Database
from workers.events import EventStage, run_events
from workers.inference import InferenceStage, run_inference
from workers.reader import CameraReader
from workers.transport import open_transport

log = logging.getLogger("maskwatch.roles")


def consumer_name(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def _watchdog(stop: threading.Event) -> None:
    """Keep systemd's watchdog fed while the role is alive."""
    while not stop.wait(5):
        notify("WATCHDOG=1")


def run_reader(settings: Settings, cameras: list[str] | None) -> int:
    stop = _stop_on_signals()
    chosen = [c for c in settings.cameras if c.enabled and (not cameras or c.name in cameras)]
    if not chosen:
        log.error("no enabled camera matches %s", cameras)
        return 2
    transport = open_transport(settings.transport, [c.name for c in chosen])
    feed = CameraFeed(settings, transport, build_recorder(settings, Database(settings.database.url)))
    readers = [CameraReader(c, feed.on_frame, feed.on_status, stop) for c in chosen]
    threads = [threading.Thread(target=r.run, name=f"reader-{r.camera.name}", daemon=True) for r in readers]
    for t in threads:
        t.start()
    server = serve_metrics(
        settings, lambda: {"ok": True, "role": "reader", "cameras": {r.camera.name: r.online for r in readers}}
    )
    notify("READY=1")
    threading.Thread(target=_watchdog, args=(stop,), daemon=True).start()
    while not stop.wait(0.5):
        if all(r.finished for r in readers):
            break
    stop.set()
    for t in threads:
        t.join(10)
    if server:
        server.stop()
    transport.close()
    return 0


def run_infer(settings: Settings) -> int:
    stop = _stop_on_signals()
    cameras = [c for c in settings.cameras if c.enabled]
    transport = open_transport(settings.transport, [c.name for c in cameras])
    stage = InferenceStage(settings.inference, cameras)
    stage.latency_observer = metrics.INFERENCE_SECONDS.observe
    stage.frames_observer = metrics.observe_frames
    server = serve_metrics(
        settings,
        lambda: {"ok": True, "role": "infer", "device": stage.detector.device, "frames": stage.frames_processed},
    )
    notify("READY=1")
    threading.Thread(target=_watchdog, args=(stop,), daemon=True).start()
    run_inference(stage, transport, stop, consumer_name("infer"))
    if server:
        server.stop()
    transport.close()
    return 0


def run_events_role(settings: Settings, cameras: list[str] | None, dispatch: bool = True) -> int:
    stop = _stop_on_signals()
    names = [c.name for c in settings.cameras if c.enabled and (not cameras or c.name in cameras)]
    transport = open_transport(settings.transport, names)
    db = Database(settings.database.url)
    stage = EventStage(settings, build_recorder(settings, db), names)
    worker_stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_events, args=(stage, transport, worker_stop, "events-" + "-".join(names)), daemon=True
        )
    ]
    dispatcher = None
    scheduler = BackgroundScheduler(timezone="UTC")
    if dispatch:
        dispatcher = Dispatcher(db, build_notifiers(settings), settings.delivery)
        dispatcher.on_delivered = metrics.observe_delivery
        threads.append(threading.Thread(target=dispatcher.run, args=(worker_stop,), daemon=True))
        schedule_housekeeping(scheduler, settings, db)
        scheduler.start()
    for t in threads:
        t.start()
    server = serve_metrics(settings, lambda: {"ok": True, "role": "events", "cameras": names})
    console = start_console(settings, db, serve_here=dispatch)
    notify("READY=1")
    threading.Thread(target=_watchdog, args=(stop,), daemon=True).start()
    stop.wait()
    worker_stop.set()
    for t in threads:
        t.join(10)
    stage.finish()
    if dispatcher is not None:
        scheduler.shutdown(wait=False)
        dispatcher.flush(timeout=10)
        for n in dispatcher.notifiers.values():
            n.close()
    if server:
        server.stop()
    transport.close()
    console.stop()
    db.close()
    return 0
