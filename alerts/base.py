"""One interface per channel: deliver one outbox row or raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class DeliveryError(Exception):
    """The channel could not take the alert now; it stays in the outbox and is retried."""


class Notifier(ABC):
    channel: str

    @abstractmethod
    def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        """Deliver or raise :class:`DeliveryError`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
