"""The events stage: per camera, in capture order, tracking and violations.

Inference workers may finish frames out of order (several workers, redelivery after a
crash); a small reorder buffer per camera releases detections by frame id, waiting at
most ``reorder_seconds`` for a gap (a dropped frame) before moving on.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from daemon.config.settings import Settings
from workers.messages import Detections
from workers.transport.base import Transport
from workers.violations import CameraViolations, ViolationSink

log = logging.getLogger("maskwatch.events")


class EventStage:
    def __init__(
        self, settings: Settings, sink: ViolationSink, cameras: list[str] | None = None, reorder_seconds: float = 1.0
    ):
        names = cameras or [c.name for c in settings.cameras if c.enabled]
        self.cameras = {
            n: CameraViolations(settings.camera(n), settings.violations, sink, settings.schedule.active_hours)
            for n in names
        }
        self.reorder_seconds = reorder_seconds
        self._held: dict[str, list[tuple[int, float, Detections]]] = {n: [] for n in names}
        self.latest_capture: dict[str, float] = {}
        self.on_judged: Callable[[Detections], None] | None = None  # metrics and benchmarks

    def push(self, det: Detections) -> None:
        cam = self.cameras.get(det.camera)
        if cam is None or det.frame_id <= cam.last_frame_id:
            return  # not ours, or a late duplicate of a frame already judged
        heapq.heappush(self._held[det.camera], (det.frame_id, time.monotonic(), det))

    def release(self, force: bool = False) -> int:
        """Feed held detections to the state machines in frame order; returns how many."""
        n = 0
        now = time.monotonic()
        for name, heap in self._held.items():
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


def run_events(stage: EventStage, transport: Transport, stop: threading.Event, consumer: str) -> None:
    cameras = list(stage.cameras)
    while not stop.is_set():
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
