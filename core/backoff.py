"""The one backoff: exponential, capped, with optional jitter.

Camera reconnects (with jitter, so cameras that dropped together do not reconnect
together), outbox retries (the attempt count lives in the database) and the supervisor's
restarts all wait ``initial * 2**n`` seconds, at most ``maximum``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def exponential_delay(attempt: int, initial: float, maximum: float) -> float:
    """The wait before try ``attempt + 1`` (``attempt`` counts failures so far, from 0)."""
    return float(min(maximum, initial * 2 ** max(0, attempt)))


@dataclass
class Backoff:
    """A running backoff: each :meth:`next_delay` doubles, :meth:`reset` after a success."""

    initial: float = 1.0
    maximum: float = 30.0
    jitter: float = 0.2  # +-20 %
    attempt: int = 0

    def next_delay(self) -> float:
        delay = exponential_delay(self.attempt, self.initial, self.maximum)
        self.attempt += 1
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else delay

    def reset(self) -> None:
        self.attempt = 0
