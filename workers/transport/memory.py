"""In-process transport for the embedded single-host daemon: bounded deques per camera."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque

from core.messages import Detections, Frame
from workers.transport.base import Delivery, Transport


class MemoryTransport(Transport):
    def __init__(self, max_frames: int = 8, max_detections: int = 256):
        self._max_frames = max_frames
        self._max_detections = max_detections
        self._frames: dict[str, deque[Frame]] = {}
        self._detections: dict[str, deque[tuple[str, Detections]]] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self._rr = 0

    def publish_frame(self, frame: Frame) -> int:
        with self._cond:
            q = self._frames.setdefault(frame.camera, deque())
            dropped = 0
            while len(q) >= self._max_frames:
                q.popleft()
                dropped += 1
            q.append(frame)
            self._cond.notify_all()
            return dropped

    def _wait(self, ready: object, block_s: float) -> None:
        deadline = time.monotonic() + block_s
        while not ready() and (left := deadline - time.monotonic()) > 0:  # type: ignore[operator]
            self._cond.wait(left)

    def read_frames(self, consumer: str, max_count: int, block_s: float) -> list[Delivery]:
        with self._cond:
            self._wait(lambda: any(self._frames.values()), block_s)
            out: list[Delivery] = []
            cams = list(self._frames)
            # round-robin over cameras so a busy one cannot starve the others
            self._rr = (self._rr + 1) % max(1, len(cams))
            order = cams[self._rr :] + cams[: self._rr]
            while len(out) < max_count and any(self._frames[c] for c in order):
                for cam in order:
                    if self._frames[cam] and len(out) < max_count:
                        out.append(Delivery(str(next(self._ids)), self._frames[cam].popleft()))
            return out

    def ack_frames(self, deliveries: list[Delivery]) -> None:
        return None  # in one process a frame handed out is never redelivered

    def publish_detections(self, detections: Detections) -> None:
        with self._cond:
            q = self._detections.setdefault(detections.camera, deque(maxlen=self._max_detections))
            q.append((str(next(self._ids)), detections))
            self._cond.notify_all()

    def read_detections(self, consumer: str, cameras: list[str] | None, block_s: float) -> list[tuple[str, Detections]]:
        with self._cond:

            def pick() -> list[str]:
                return [c for c, q in self._detections.items() if q and (cameras is None or c in cameras)]

            self._wait(lambda: bool(pick()), block_s)
            out: list[tuple[str, Detections]] = []
            for cam in pick():
                q = self._detections[cam]
                while q:
                    out.append(q.popleft())
            return out

    def ack_detections(self, tokens: list[str]) -> None:
        return None

    def backlog(self) -> dict[str, int]:
        with self._cond:
            return {cam: len(q) for cam, q in self._frames.items()}
