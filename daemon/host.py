"""Runs roles as threads of this process: one health endpoint, one watchdog, one stop order.

The embedded daemon hosts all three roles; a role process over Redis hosts one. Under the
supervisor (``MASKWATCH_SUPERVISOR_DIR`` set) a host binds no port: it writes its health
to a file in that folder every few seconds and its metrics go to prometheus-client's
multiprocess folder, and the supervisor serves both for all its children on the one
``metrics.port`` (children on one host never fight over a port).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from config.settings import Settings
from daemon import metrics
from daemon.health import SUPERVISOR_DIR_ENV, Heartbeats, WatchdogFeeder
from daemon.roles import Role
from daemon.systemd import notify
from daemon.wiring import serve_metrics
from storage.db import Database
from workers.transport import Transport
from workers.transport.memory import MemoryTransport

log = logging.getLogger("maskwatch.daemon")
STATUS_EVERY_S = 2.0
ROLE_ORDER = ("reader", "infer", "events")  # stop order: sources first, the outbox last


class RoleHost:
    def __init__(self, settings: Settings, roles: list[Role], transport: Transport, db: Database | None, label: str):
        self.settings = settings
        self.roles = sorted(roles, key=lambda r: ROLE_ORDER.index(r.name))
        self.transport = transport
        self.db = db
        self.label = label
        self.beats = Heartbeats()
        self.stop_event = threading.Event()
        self.started_at = time.time()
        self.health_server: metrics.HealthServer | None = None
        self.supervisor_dir = os.environ.get(SUPERVISOR_DIR_ENV)

    def health(self) -> dict[str, Any]:
        stale = self.beats.stale()
        state: dict[str, Any] = {
            "ok": not stale and not self.stop_event.is_set(),
            "process": self.label,
            "pid": os.getpid(),
            "roles": [r.name for r in self.roles],
            "uptime_s": round(time.time() - self.started_at, 1),
            "monotonic": time.monotonic(),  # when this was written, on the clock the supervisor compares
            "loops": self.beats.ages(),
            "stale": stale,
        }
        for role in self.roles:
            state.update(role.health())
        return state

    def start(self) -> None:
        # the endpoint first: a port in use fails before seconds of model loading
        if self.supervisor_dir:
            threading.Thread(target=self._write_status, name="status", daemon=True).start()
        else:
            self.health_server = serve_metrics(self.settings, self.health)
        # consumers first (models loaded, events listening), sources last: no camera's first
        # seconds are dropped while the models load
        for role in reversed(self.roles):
            role.start(self.beats)
        WatchdogFeeder(self.beats.stale, self.stop_event).start()
        log.info("maskwatch %s running: %s", self.label, ", ".join(r.name for r in self.roles))

    def _write_status(self) -> None:
        assert self.supervisor_dir is not None
        path = Path(self.supervisor_dir) / f"{self.label}.json"
        while True:
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_text(json.dumps(self.health(), default=str))
                os.replace(tmp, path)
            except Exception as exc:  # noqa: BLE001 - the report must go on; the supervisor sees it stop
                log.warning("cannot write health for the supervisor: %s", exc)
            if self.stop_event.wait(STATUS_EVERY_S):
                return

    def wait(self) -> None:
        while not self.stop_event.wait(0.5):
            if any(r.finished for r in self.roles):
                log.info("every source has ended")
                break

    def shutdown(self, drain_timeout: float = 10.0) -> None:
        """Stop the sources, let queued frames through, close open violations, flush the outbox."""
        self.stop_event.set()
        for role in self.roles:
            role.stop()
            if role.name == "reader" and isinstance(self.transport, MemoryTransport):
                deadline = time.monotonic() + drain_timeout
                while time.monotonic() < deadline and any(self.transport.backlog().values()):
                    time.sleep(0.1)
        if self.health_server is not None:
            self.health_server.stop()
        self.transport.close()
        if self.db is not None:
            self.db.close()
        log.info("maskwatch %s stopped", self.label)

    def run(self) -> int:
        """As a service: signals stop it, systemd hears READY/STOPPING and the watchdog."""
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_event.set())
        self.start()
        notify("READY=1")
        self.wait()
        notify("STOPPING=1")
        self.shutdown()
        return 0
