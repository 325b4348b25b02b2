"""Redis Streams transport: a stream per camera, consumer groups, reclaim of dead workers' frames.

Frames: ``<prefix>:frames:<camera>``, trimmed with ``MAXLEN ~`` (drops counted), read by
the ``inference`` group with ``XREADGROUP`` and acknowledged after the result is
published; ``XAUTOCLAIM`` hands frames pending on a dead worker to a live one.
Detections: ``<prefix>:detections:<camera>``, read by the ``events`` group.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from core.messages import Detections, Frame, pack_detections, pack_frame, unpack_detections, unpack_frame
from workers.transport.base import Delivery, Transport

FRAMES_GROUP = "inference"
EVENTS_GROUP = "events"


class RedisTransport(Transport):
    def __init__(
        self,
        url: str,
        cameras: list[str],
        max_frames: int = 8,
        claim_idle_ms: int = 5000,
        prefix: str = "maskwatch",
        max_detections: int = 1000,
    ):
        self._r: Any = redis.Redis.from_url(
            url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=10, retry_on_timeout=True
        )
        self._cameras = list(cameras)
        self._max_frames = max_frames
        self._max_detections = max_detections
        self._claim_idle_ms = claim_idle_ms
        self._prefix = prefix
        self._groups_ready: set[str] = set()
        self._last_claim = 0.0

    def _frames_key(self, camera: str) -> str:
        return f"{self._prefix}:frames:{camera}"

    def _det_key(self, camera: str) -> str:
        return f"{self._prefix}:detections:{camera}"

    def _ensure_group(self, key: str, group: str) -> None:
        if f"{key}|{group}" in self._groups_ready:
            return
        try:
            self._r.xgroup_create(key, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add(f"{key}|{group}")

    def _reset_groups(self) -> None:
        """After a Redis restart streams and groups may be gone: recreate them lazily."""
        self._groups_ready.clear()

    def publish_frame(self, frame: Frame) -> int:
        key = self._frames_key(frame.camera)
        self._ensure_group(key, FRAMES_GROUP)
        pipe = self._r.pipeline(transaction=True)
        pipe.xlen(key)
        pipe.xadd(key, pack_frame(frame), maxlen=self._max_frames, approximate=False)
        pipe.xlen(key)
        try:
            before, _, after = pipe.execute()
        except redis.ResponseError:
            self._reset_groups()
            raise
        return max(0, int(before) + 1 - int(after))

    def read_frames(self, consumer: str, max_count: int, block_s: float) -> list[Delivery]:
        keys = [self._frames_key(c) for c in self._cameras]
        for key in keys:
            self._ensure_group(key, FRAMES_GROUP)
        out = self._reclaim(consumer, max_count)
        if len(out) < max_count:
            try:
                resp = self._r.xreadgroup(
                    FRAMES_GROUP,
                    consumer,
                    {k: ">" for k in keys},
                    count=max(1, max_count - len(out)),
                    block=max(1, int(block_s * 1000)),
                )
            except redis.ResponseError as exc:  # NOGROUP after a restart
                if "NOGROUP" in str(exc):
                    self._reset_groups()
                    return out
                raise
            out += self._deliveries(resp)
        return out[:max_count] if len(out) > max_count else out

    def _deliveries(self, resp: Any) -> list[Delivery]:
        out = []
        for key, entries in resp or []:
            key = key.decode() if isinstance(key, bytes) else key
            for entry_id, fields in entries:
                if not fields:
                    continue  # trimmed while pending
                eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                out.append(Delivery(f"{key}|{eid}", unpack_frame(fields)))
        return out

    def _reclaim(self, consumer: str, max_count: int) -> list[Delivery]:
        now = time.monotonic()
        if now - self._last_claim < self._claim_idle_ms / 2000:
            return []
        self._last_claim = now
        out: list[Delivery] = []
        for cam in self._cameras:
            key = self._frames_key(cam)
            try:
                _next, entries, deleted = self._r.xautoclaim(
                    key, FRAMES_GROUP, consumer, min_idle_time=self._claim_idle_ms, start_id="0-0", count=max_count
                )
            except redis.ResponseError:
                continue
            if deleted:  # trimmed before anyone finished them: drop from the pending list
                self._r.xack(key, FRAMES_GROUP, *deleted)
            out += self._deliveries([(key, entries)])
        return out

    def ack_frames(self, deliveries: list[Delivery]) -> None:
        pipe = self._r.pipeline(transaction=False)
        for d in deliveries:
            key, eid = d.token.split("|", 1)
            pipe.xack(key, FRAMES_GROUP, eid)
            pipe.xdel(key, eid)
        pipe.execute()

    def publish_detections(self, detections: Detections) -> None:
        key = self._det_key(detections.camera)
        self._ensure_group(key, EVENTS_GROUP)
        self._r.xadd(key, pack_detections(detections), maxlen=self._max_detections, approximate=True)

    def read_detections(self, consumer: str, cameras: list[str] | None, block_s: float) -> list[tuple[str, Detections]]:
        keys = [self._det_key(c) for c in (cameras or self._cameras)]
        for key in keys:
            self._ensure_group(key, EVENTS_GROUP)
        streams = {k: "0" for k in keys}  # first our own pending (after a restart), then new
        resp = self._r.xreadgroup(EVENTS_GROUP, consumer, streams, count=256)
        if not any(entries for _, entries in resp or []):
            try:
                resp = self._r.xreadgroup(
                    EVENTS_GROUP, consumer, {k: ">" for k in keys}, count=256, block=max(1, int(block_s * 1000))
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    self._reset_groups()
                    return []
                raise
        out = []
        for key, entries in resp or []:
            key = key.decode() if isinstance(key, bytes) else key
            for entry_id, fields in entries:
                eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                if fields:
                    out.append((f"{key}|{eid}", unpack_detections(fields)))
        return out

    def ack_detections(self, tokens: list[str]) -> None:
        pipe = self._r.pipeline(transaction=False)
        for token in tokens:
            key, eid = token.split("|", 1)
            pipe.xack(key, EVENTS_GROUP, eid)
            pipe.xdel(key, eid)
        pipe.execute()

    def backlog(self) -> dict[str, int]:
        return {c: int(self._r.xlen(self._frames_key(c))) for c in self._cameras}

    def close(self) -> None:
        self._r.close()
