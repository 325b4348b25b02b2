"""What the events stage decides and what records it: an opened violation and the sink
contract storage implements (so storage needs nothing of workers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np


@dataclass
class OpenedViolation:
    camera: str
    track_id: int
    first_frame_id: int
    started_at: datetime
    label: str
    score: float
    frame: np.ndarray
    box: tuple[float, float, float, float]
    decided_at: datetime | None = None  # capture time of the frame that satisfied the policy
    session: str = ""  # the reader run of ``first_frame_id`` (part of the violation's identity)


class ViolationSink(Protocol):
    def opened(self, v: OpenedViolation) -> int | None:
        """Persist and alert; returns the violation id (that of the existing row for a redelivered
        frame, so its track still closes it), or None if nothing could be recorded."""

    def seen(self, violation_id: int, at: datetime) -> None:
        """The violation's person is still there (where a restart after a crash will end it);
        reopens a violation that was ended and has been rejoined."""

    def closed(
        self,
        violation_id: int,
        ended_at: datetime,
        peak_score: float,
        best: OpenedViolation | None,
        reason: str = "track_lost",
    ) -> None: ...

    def person_seen(self, camera: str, at: datetime, label: str) -> None: ...
