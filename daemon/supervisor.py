"""``maskwatch run`` over Redis: one child process per role, watched and restarted.

A child that exits is restarted after 1, 2, 4 ... 30 s; more than ``max_crashes`` exits
within ``window_s`` means something is wrong that restarting will not fix, so the
supervisor stops everything and exits non-zero (systemd's ``Restart=on-failure`` then
takes over). A child that lives but is wedged (its health says a loop stopped beating,
or it stopped writing its health at all) is killed and restarted the same way.

The children bind no port: each writes its health to a file in the supervisor's folder
and its metrics to prometheus-client's multiprocess folder; the supervisor serves both,
for all of them, on ``metrics.port``. Only the supervisor talks to systemd: it sends
``WATCHDOG=1`` while every child is healthy or being restarted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import Settings
from core.backoff import exponential_delay
from daemon.health import SUPERVISOR_DIR_ENV, watchdog_interval
from daemon.systemd import notify

log = logging.getLogger("maskwatch.supervisor")
STARTUP_GRACE_S = 90.0  # a child's first health file: imports and model loading come first
SILENT_LIMIT_S = 30.0  # a child that stops writing its health this long is frozen


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    crashes: list[float] = field(default_factory=list)
    restart_at: float = 0.0
    spawned: float = 0.0
    restarts: int = 0


def role_commands(config: str) -> list[Child]:
    base = [sys.executable, "-m", "daemon.cli"]
    return [
        Child("events", base + ["events", "--config", config]),
        Child("infer", base + ["infer", "--config", config]),
        Child("reader", base + ["reader", "--config", config]),
    ]


class Supervisor:
    def __init__(self, children: list[Child], max_crashes: int = 5, window_s: float = 60.0):
        self.children = children
        self.max_crashes = max_crashes
        self.window_s = window_s
        self.stop = threading.Event()
        self.run_dir = Path(tempfile.mkdtemp(prefix="maskwatch-supervisor-"))
        self.prom_dir = self.run_dir / "metrics"
        self.prom_dir.mkdir()
        self.env = {**os.environ, SUPERVISOR_DIR_ENV: str(self.run_dir), "PROMETHEUS_MULTIPROC_DIR": str(self.prom_dir)}
        for private in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            self.env.pop(private, None)  # systemd hears the supervisor only

    def _spawn(self, child: Child) -> None:
        (self.run_dir / f"{child.name}.json").unlink(missing_ok=True)
        child.proc = subprocess.Popen(child.argv, env=self.env)
        child.spawned = time.monotonic()

    def child_health(self, child: Child) -> dict[str, Any] | None:
        """The child's last health report, with its age on the monotonic clock (system-wide
        on Linux), so a wall-clock step at boot neither kills every child nor hides a frozen one."""
        path = self.run_dir / f"{child.name}.json"
        try:
            state: dict[str, Any] = json.loads(path.read_text())
            age = time.monotonic() - float(state["monotonic"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        state["age_s"] = round(age, 1)
        return state

    def _wedged(self, child: Child, now: float) -> str | None:
        """Why a running child counts as wedged, or None while it is fine."""
        state = self.child_health(child)
        if state is None:
            return "no health written" if now - child.spawned > STARTUP_GRACE_S else None
        if state["age_s"] > SILENT_LIMIT_S:
            return f"health not written for {state['age_s']:.0f} s"
        if state.get("stale"):
            return f"loop(s) not beating: {', '.join(state['stale'])}"
        return None

    def healthy(self) -> bool:
        now = time.monotonic()
        return all(c.proc is None or self._wedged(c, now) is None for c in self.children) and not self.stop.is_set()

    def health(self) -> dict[str, Any]:
        now = time.monotonic()
        children = {}
        for c in self.children:
            running = c.proc is not None and c.proc.poll() is None
            reason = self._wedged(c, now) if running else "restarting"
            children[c.name] = {
                "pid": c.proc.pid if running and c.proc is not None else None,
                "ok": running and reason is None,
                "problem": reason,
                "restarts": c.restarts,
                "health": self.child_health(c),
            }
        return {
            "ok": all(v["ok"] for v in children.values()) and not self.stop.is_set(),
            "process": "supervisor",
            "children": children,
        }

    def _exited(self, child: Child, now: float) -> bool:
        """Handle a child that ended; False when the supervisor has to give up."""
        assert child.proc is not None
        rc, pid = child.proc.returncode, child.proc.pid
        child.proc = None
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(self.prom_dir))
        if rc == 0 and child.name == "reader":
            log.info("reader finished (all sources ended)")
            self.stop.set()
            return True
        child.crashes = [t for t in child.crashes if now - t < self.window_s] + [now]
        if len(child.crashes) > self.max_crashes:
            log.error("%s crashed %d times in %.0f s; giving up", child.name, len(child.crashes), self.window_s)
            return False
        delay = exponential_delay(len(child.crashes) - 1, 1.0, 30.0)
        child.restart_at = now + delay
        log.warning("%s exited with %s; restarting in %.0f s", child.name, rc, delay)
        return True

    def run(self) -> int:
        for child in self.children:
            self._spawn(child)
            log.info("started %s (pid %s)", child.name, child.proc.pid if child.proc else None)
        notify("READY=1")
        interval = watchdog_interval()
        last_ping = 0.0
        code = 0
        while not self.stop.wait(0.5):
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None and not self._exited(child, now):
                    code = 1
                    self.stop.set()
                    break
                if child.proc is not None and (reason := self._wedged(child, now)) is not None:
                    log.error("%s (pid %s) is wedged: %s; killing it", child.name, child.proc.pid, reason)
                    child.proc.kill()
                    continue  # reaped and restarted by the exit handling above
                if child.proc is None and child.restart_at and now >= child.restart_at and not self.stop.is_set():
                    self._spawn(child)
                    child.restart_at = 0.0
                    child.restarts += 1
                    log.info("restarted %s (pid %s)", child.name, child.proc.pid if child.proc else None)
            if interval is not None and now - last_ping >= interval and self.healthy():
                notify("WATCHDOG=1")
                last_ping = now
        notify("STOPPING=1")
        self._stop_children()
        return code

    def _stop_children(self) -> None:
        # readers first so the others can drain what is queued, events last to flush alerts
        for name in ("reader", "infer", "events"):
            for child in self.children:
                if child.name == name and child.proc is not None and child.proc.poll() is None:
                    child.proc.terminate()
                    try:
                        child.proc.wait(30)
                    except subprocess.TimeoutExpired:
                        child.proc.kill()
                        child.proc.wait(5)

    def close(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)


def supervise(children: list[Child], settings: Settings, max_crashes: int = 5, window_s: float = 60.0) -> int:
    from daemon import metrics

    sup = Supervisor(children, max_crashes, window_s)
    signal.signal(signal.SIGTERM, lambda *_: sup.stop.set())
    signal.signal(signal.SIGINT, lambda *_: sup.stop.set())
    server = None
    if settings.metrics.enabled:
        server = metrics.HealthServer(
            settings.metrics.host, settings.metrics.port, sup.health, metrics.multiprocess_registry(sup.prom_dir)
        )
        server.start()
        log.info("metrics of all roles on http://%s:%s/metrics", settings.metrics.host, server.port)
    try:
        return sup.run()
    finally:
        if server is not None:
            server.stop()
        sup.close()
