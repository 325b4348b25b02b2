"""The contract between roles. Bounded: a camera that outruns inference loses its oldest
frames (counted), never memory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from core.messages import Detections, Frame


@dataclass(frozen=True)
class Delivery:
    """A frame handed to one inference worker; acknowledge it once its result is published."""

    token: str
    frame: Frame


class Transport(ABC):
    @abstractmethod
    def publish_frame(self, frame: Frame) -> int:
        """Queue a frame; returns how many old frames of that camera were dropped for it."""

    @abstractmethod
    def read_frames(self, consumer: str, max_count: int, block_s: float) -> list[Delivery]:
        """Up to ``max_count`` frames across cameras, oldest first per camera."""

    @abstractmethod
    def ack_frames(self, deliveries: list[Delivery]) -> None:
        """Mark frames done; unacknowledged ones are handed to another worker later."""

    @abstractmethod
    def publish_detections(self, detections: Detections) -> None: ...

    @abstractmethod
    def read_detections(self, consumer: str, cameras: list[str] | None, block_s: float) -> list[tuple[str, Detections]]:
        """Detections with a token for :meth:`ack_detections`, in capture order per camera."""

    @abstractmethod
    def ack_detections(self, tokens: list[str]) -> None: ...

    @abstractmethod
    def backlog(self) -> dict[str, int]:
        """Frames waiting per camera (stream lag)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
