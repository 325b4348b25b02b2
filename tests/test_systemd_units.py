"""The daemon's side of the systemd units in deploy/systemd.

`Type=notify` and `WatchdogSec=` are checked with a notify socket standing where
systemd's would be.
"""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path

from models.shared_data import REPO_ROOT
from tests.conftest import start_daemon

UNITS = REPO_ROOT / "deploy" / "systemd"


def test_embedded_daemon_notifies_ready_and_feeds_the_watchdog(tmp_path: Path) -> None:
    """maskwatch.service's `maskwatch run` must say READY=1 and ping well inside WatchdogSec=.

    Without the pings systemd kills the daemon WatchdogSec after start (and restarts it,
    forever); STOPPING=1 and exit 0 on SIGTERM make `systemctl stop` clean.
    """
    unit = (UNITS / "maskwatch.service").read_text()
    assert re.search(r"^ExecStart=\S+/maskwatch run ", unit, re.M) and re.search(r"^Type=notify$", unit, re.M)
    m = re.search(r"^WatchdogSec=(\d+)$", unit, re.M)
    assert m, "maskwatch.service has no WatchdogSec="
    watchdog_s = int(m.group(1))
    cfg = tmp_path / "maskwatch.yaml"
    cfg.write_text(
        f"cameras:\n  - name: demo\n    url: {REPO_ROOT / 'deploy/demo/demo.mp4'}\n    loop: true\n"
        f"database:\n  url: sqlite:///{tmp_path}/maskwatch.db\nsnapshots:\n  dir: {tmp_path}/snapshots\n"
        "metrics:\n  port: 0\n"
    )
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.5)
        proc = start_daemon(cfg, tmp_path, env={"NOTIFY_SOCKET": str(path)})
        got: list[tuple[float, str]] = []

        def receive(until: float, msg_wanted: str, count: int = 1) -> None:
            while time.monotonic() < until and sum(msg == msg_wanted for _, msg in got) < count:
                try:
                    got.append((time.monotonic(), sock.recv(4096).decode()))
                except TimeoutError:
                    if proc.poll() is not None:
                        return

        try:
            receive(time.monotonic() + 180, "READY=1")
            assert [msg for _, msg in got] == ["READY=1"], f"no READY=1: {got}; {(tmp_path / 'daemon.log').read_text()}"
            ready_at = got[0][0]
            receive(ready_at + watchdog_s / 2, "WATCHDOG=1", count=3)
            pings = [at for at, msg in got if msg == "WATCHDOG=1"]
            assert len(pings) == 3, f"{len(pings)} WATCHDOG=1 within {watchdog_s / 2:.0f} s of READY=1"
            gaps = [b - a for a, b in zip([ready_at, *pings], pings)]
            assert max(gaps) < watchdog_s / 4, f"watchdog pings {max(gaps):.1f} s apart, WatchdogSec={watchdog_s}"
            proc.send_signal(signal.SIGTERM)
            receive(time.monotonic() + 60, "STOPPING=1")
            assert "STOPPING=1" in [msg for _, msg in got]
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
