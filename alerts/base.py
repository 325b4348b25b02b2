"""One interface per channel: deliver one outbox row, say it is still in flight, or raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class DeliveryError(Exception):
    """The channel refused or failed this alert; it is retried with backoff and, after
    ``delivery.max_attempts`` such failures, set aside as ``failed``.

    Any other exception from :meth:`Notifier.deliver` is treated the same way: it is this
    alert's failure, never the round's."""


class ChannelDownError(DeliveryError):
    """The channel itself is unreachable (broker not connected, SMTP server refusing
    connections): every alert would fail alike, so the rest of the channel waits for the
    next try and the alert's attempts are not used up (an outage only delays)."""


class Notifier(ABC):
    channel: str

    @abstractmethod
    def deliver(self, key: int, kind: str, payload: dict[str, Any]) -> bool:
        """Deliver the outbox row ``key``: True once the channel has taken it for good; False
        while it is in flight (sent, the acknowledgement not seen yet). The dispatcher asks
        again with the same ``key`` later; a notifier must not send an in-flight alert a
        second time. Raise :class:`DeliveryError` (or anything) when it failed."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
