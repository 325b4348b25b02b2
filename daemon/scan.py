"""``maskwatch scan``: one recorded file through exactly the daemon's pipeline.

Same reader sampling (on the video's own clock, as fast as it decodes), same inference
stage, same tracker and violation state machine; the database is optional.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from config.cameras import CameraSettings
from config.settings import Settings
from core.backoff import Backoff
from core.messages import Frame
from core.violations import OpenedViolation, ViolationSink
from workers.events import EventStage
from workers.inference import InferenceStage
from workers.reader import CameraReader
from workers.sources import MediaError


@dataclass
class ScanViolation:
    camera: str
    track_id: int
    first_frame_id: int
    started_at: datetime
    label: str
    score: float
    ended_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "camera": self.camera,
            "track_id": self.track_id,
            "frame_id": self.first_frame_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "label": self.label,
            "score": round(self.score, 4),
        }


@dataclass
class ListSink(ViolationSink):
    """Keeps violations in memory (scan without a database), optionally forwarding them."""

    violations: list[ScanViolation] = field(default_factory=list)
    forward: ViolationSink | None = None
    _forward_ids: dict[int, int] = field(default_factory=dict)

    def opened(self, v: OpenedViolation) -> int | None:
        self.violations.append(ScanViolation(v.camera, v.track_id, v.first_frame_id, v.started_at, v.label, v.score))
        vid = len(self.violations)
        if self.forward is not None:
            fid = self.forward.opened(v)
            if fid is not None:
                self._forward_ids[vid] = fid
        return vid

    def seen(self, violation_id: int, at: datetime) -> None:
        if self.forward is not None and violation_id in self._forward_ids:
            self.forward.seen(self._forward_ids[violation_id], at)

    def closed(
        self,
        violation_id: int,
        ended_at: datetime,
        peak_score: float,
        best: OpenedViolation | None,
        reason: str = "track_lost",
    ) -> None:
        sv = self.violations[violation_id - 1]
        sv.ended_at, sv.score = ended_at, max(sv.score, peak_score)
        if self.forward is not None and violation_id in self._forward_ids:
            self.forward.closed(self._forward_ids[violation_id], ended_at, peak_score, best, reason)

    def person_seen(self, camera: str, at: datetime, label: str) -> None:
        if self.forward is not None:
            self.forward.person_seen(camera, at, label)


def scan_camera_name(video: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", video.stem).strip("-_")[:64]
    return name or "video"


def scan_video(
    video: Path, settings: Settings, forward: ViolationSink | None = None, stage: InferenceStage | None = None
) -> list[ScanViolation]:
    """The violations of one file; ``FileNotFoundError`` or ``MediaError`` (bounded: never a retry loop)."""
    if not video.is_file():
        raise FileNotFoundError(f"{video}: no such file")
    template = settings.cameras[0] if settings.cameras else None
    fields = template.model_dump() if template else {}
    fields.update(name=scan_camera_name(video), url=str(video), enabled=True, loop=False)
    camera = CameraSettings.model_validate(fields)
    scan_settings = settings.model_copy(update={"cameras": [camera]})
    stage = stage or InferenceStage(settings.inference, [camera])
    sink = ListSink(forward=forward)
    events = EventStage(scan_settings, sink, reorder_seconds=0.0)
    pending: list[Frame] = []

    def flush() -> None:
        for det in stage.process(pending):
            events.push(det)
        events.release(force=True)
        pending.clear()

    def on_frame(frame: Frame) -> None:
        pending.append(frame)
        if len(pending) >= settings.inference.batch:
            flush()

    stop = threading.Event()
    reader = CameraReader(
        camera, on_frame, lambda *_: None, stop, realtime=False, backoff=Backoff(0.1, 0.1), file_attempts=1
    )
    reader.run()
    if reader.error or not reader.frames_read:
        raise MediaError(f"{video}: {reader.error or 'no frame could be decoded'}")
    flush()
    events.finish()
    return sink.violations
