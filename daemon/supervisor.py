"""``maskwatch run`` over Redis: one child process per role, restarted with backoff.

A child that crashes is restarted after 1, 2, 4 ... 30 s; more than ``max_crashes``
crashes within ``window_s`` means something is wrong that restarting will not fix, so
the supervisor stops everything and exits non-zero (systemd's ``Restart=on-failure``
then takes over).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from daemon.systemd import notify

log = logging.getLogger("maskwatch.supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    crashes: list[float] = field(default_factory=list)
    restart_at: float = 0.0


def role_commands(config: str) -> list[Child]:
    base = [sys.executable, "-m", "daemon.cli"]
    return [
        Child("events", base + ["events", "--config", config]),
        Child("infer", base + ["infer", "--config", config]),
        Child("reader", base + ["reader", "--config", config]),
    ]


def supervise(children: list[Child], max_crashes: int = 5, window_s: float = 60.0) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for child in children:
        child.proc = subprocess.Popen(child.argv)
        log.info("started %s (pid %s)", child.name, child.proc.pid)
    notify("READY=1")
    code = 0
    while not stop.wait(0.5):
        notify("WATCHDOG=1")
        now = time.monotonic()
        for child in children:
            if child.proc is not None and child.proc.poll() is not None:
                rc = child.proc.returncode
                child.proc = None
                if rc == 0 and child.name == "reader":
                    log.info("reader finished (all sources ended)")
                    stop.set()
                    break
                child.crashes = [t for t in child.crashes if now - t < window_s] + [now]
                if len(child.crashes) > max_crashes:
                    log.error("%s crashed %d times in %.0f s; giving up", child.name, len(child.crashes), window_s)
                    code = 1
                    stop.set()
                    break
                delay = min(30.0, 2 ** (len(child.crashes) - 1))
                child.restart_at = now + delay
                log.warning("%s exited with %s; restarting in %.0f s", child.name, rc, delay)
            if child.proc is None and child.restart_at and now >= child.restart_at and not stop.is_set():
                child.proc = subprocess.Popen(child.argv)
                child.restart_at = 0.0
                log.info("restarted %s (pid %s)", child.name, child.proc.pid)
    notify("STOPPING=1")
    # readers first so the others can drain what is queued, events last to flush alerts
    for name in ("reader", "infer", "events"):
        for child in children:
            if child.name == name and child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
                try:
                    child.proc.wait(30)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
    return code
