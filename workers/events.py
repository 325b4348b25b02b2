"""The events stage: per camera, in capture order, tracking and violations.

Inference workers may finish frames out of order (several workers, redelivery after a
crash); a small reorder buffer per camera releases detections by frame id, waiting at
most ``reorder_seconds`` for a gap (a dropped frame) before moving on.

Frame ids count from 1 in every reader run, so order is kept per (camera, reader
session). Sessions sort in the order their runs started (``workers.reader.reader_session``).
A camera whose reader restarted (a later session) is reset: what is held of the old run
is judged, its tracks are closed, and the new run starts a fresh tracker that still knows
where the violations' people were (so someone who stays in view keeps their violation).
Late frames of an earlier run (redelivered after a crash) are dropped, never judged
against the new one.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from config.settings import Settings
from core.messages import Detections
from core.violations import ViolationSink
from workers.transport.base import Transport
from workers.violations import CameraViolations

log = logging.getLogger("maskwatch.events")


class EventStage:
    def __init__(
        self, settings: Settings, sink: ViolationSink, cameras: list[str] | None = None, reorder_seconds: float = 1.0
    ):
        names = cameras or [c.name for c in settings.cameras if c.enabled]
        self.settings = settings
        self.sink = sink
        self.cameras = {n: self._camera(n) for n in names}
        self.reorder_seconds = reorder_seconds
        self._held: dict[str, list[tuple[int, float, Detections]]] = {n: [] for n in names}
        self.latest_capture: dict[str, float] = {}
        self.on_judged: Callable[[Detections], None] | None = None  # metrics and benchmarks

    def _camera(self, name: str) -> CameraViolations:
        s = self.settings
        return CameraViolations(s.camera(name), s.violations, self.sink, s.schedule.active_hours)

    def push(self, det: Detections) -> None:
        cam = self.cameras.get(det.camera)
        if cam is None:
            return  # not ours
        if det.session != cam.session:
            if det.session < cam.session:
                return  # a late frame of a reader run that has been replaced since
            if cam.last_frame_id or self._held[det.camera]:
                cam = self._new_session(det.camera, det.session)
            cam.session = det.session
        if det.frame_id <= cam.last_frame_id:
            return  # a late duplicate of a frame already judged
        heapq.heappush(self._held[det.camera], (det.frame_id, time.monotonic(), det))

    def _new_session(self, name: str, session: str) -> CameraViolations:
        """The camera's reader restarted: judge what is held of the old run, close its tracks."""
        old = self.cameras[name]
        log.info("camera %s: new reader session %s (was %s); its tracks are closed", name, session, old.session)
        self._release_camera(name, force=True)
        sightings = old.where_seen()
        old.expire(0.0, everything=True, reason="reader_restart")
        self._held[name].clear()
        self.cameras[name] = fresh = self._camera(name)
        fresh.sightings.update(sightings)
        return fresh

    def release(self, force: bool = False) -> int:
        """Feed held detections to the state machines in frame order; returns how many."""
        return sum(self._release_camera(name, force) for name in self._held)

    def _release_camera(self, name: str, force: bool) -> int:
        n = 0
        now = time.monotonic()
        heap = self._held[name]
        cam = self.cameras[name]
        while heap:
            frame_id, arrived, det = heap[0]
            if frame_id <= cam.last_frame_id:
                heapq.heappop(heap)
                continue
            in_order = frame_id == cam.last_frame_id + 1
            if not (in_order or force or now - arrived >= self.reorder_seconds):
                break
            heapq.heappop(heap)
            cam.update(det)
            self.latest_capture[name] = det.captured_at
            if self.on_judged is not None:
                self.on_judged(det)
            n += 1
        return n

    def tick(self) -> None:
        """End tracks of cameras that stopped sending (their clock does not advance)."""
        for name, cam in self.cameras.items():
            last = self.latest_capture.get(name)
            if last is not None and not self._held[name]:
                idle = time.time() - last
                if idle > cam.policy.track_lost_seconds:
                    cam.expire(last + idle)

    def finish(self) -> None:
        self.release(force=True)
        for cam in self.cameras.values():
            cam.expire(0.0, everything=True)


def run_events(
    stage: EventStage,
    transport: Transport,
    stop: threading.Event,
    consumer: str,
    beat: Callable[[], None] | None = None,
) -> None:
    """Judge detections until stopped; ``beat`` is called once per round (health)."""
    cameras = list(stage.cameras)
    while not stop.is_set():
        if beat is not None:
            beat()
        try:
            batch = transport.read_detections(consumer, cameras, block_s=0.2)
            for _token, det in batch:
                stage.push(det)
            stage.release()
            transport.ack_detections([t for t, _ in batch])
            stage.tick()
        except Exception as exc:  # noqa: BLE001 - keep judging after a transport or DB hiccup
            log.warning("events: %s; retrying", exc)
            stop.wait(1.0)
