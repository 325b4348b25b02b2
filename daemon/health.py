"""Heartbeats of a process's worker loops, and the systemd watchdog they feed.

Each worker loop (a camera reader, inference, events, the outbox) beats once per round.
The process is healthy while every registered loop has beaten within its limit; only
then does it send ``WATCHDOG=1``, so systemd restarts a process whose loop is wedged
(deadlocked, stuck in a call) instead of trusting a thread that pings regardless.

``MASKWATCH_TEST_WEDGE=LOOP:SECONDS`` is a test hook: after SECONDS the loop named LOOP
blocks inside its beat, as a wedged loop would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from daemon.systemd import notify

log = logging.getLogger("maskwatch.health")
# set by the supervisor for its children: where they report their health (they bind no port)
SUPERVISOR_DIR_ENV = "MASKWATCH_SUPERVISOR_DIR"


@dataclass
class _Loop:
    limit_s: float
    last: float


class Heartbeats:
    def __init__(self) -> None:
        self._loops: dict[str, _Loop] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        wedge = os.environ.get("MASKWATCH_TEST_WEDGE", "")
        name, _, after = wedge.partition(":")
        self._wedge = (name, float(after or 0)) if name else None

    def register(self, loop: str, limit_s: float) -> Callable[[], None]:
        """Start watching ``loop``; returns the function the loop calls once per round."""
        with self._lock:
            self._loops[loop] = _Loop(limit_s, time.monotonic())
        return lambda: self.beat(loop)

    def retire(self, loop: str) -> None:
        """A loop that ended on purpose (a file that was played to its end) is not wedged."""
        with self._lock:
            self._loops.pop(loop, None)

    def beat(self, loop: str) -> None:
        now = time.monotonic()
        if self._wedge is not None and self._wedge[0] == loop and now - self._started >= self._wedge[1]:
            log.warning("test hook: loop %s wedged on purpose", loop)
            while True:
                time.sleep(3600)
        with self._lock:
            entry = self._loops.get(loop)
            if entry is not None:
                entry.last = now

    def ages(self) -> dict[str, float]:
        now = time.monotonic()
        with self._lock:
            return {name: round(now - e.last, 1) for name, e in self._loops.items()}

    def stale(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return sorted(name for name, e in self._loops.items() if now - e.last > e.limit_s)


def watchdog_interval() -> float | None:
    """Half of systemd's ``WATCHDOG_USEC``, or None when no watchdog is asked for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        return max(0.05, int(usec) / 2e6)
    except ValueError:
        return None


class WatchdogFeeder:
    """Sends ``WATCHDOG=1`` every half period while ``healthy()`` says so."""

    def __init__(self, healthy: Callable[[], list[str]], stop: threading.Event):
        self.healthy = healthy
        self.stop = stop
        self.interval = watchdog_interval()
        self.thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> None:
        if self.interval is not None:
            self.thread.start()

    def _run(self) -> None:
        assert self.interval is not None
        warned = False
        while not self.stop.wait(self.interval):
            stale = self.healthy()
            if not stale:
                notify("WATCHDOG=1")
                warned = False
            elif not warned:
                log.error("not feeding the watchdog: %s not beating within its limit", ", ".join(stale))
                warned = True
