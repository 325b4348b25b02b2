"""maskwatch as a service, the way systemd and a site's months of uptime treat it.

The tests play systemd (a datagram socket as ``$NOTIFY_SOCKET``, ``WATCHDOG_USEC`` set),
restart the daemon on a database it wrote before, kill it with SIGKILL mid-violation,
and kill a reader of the Redis pipeline mid-run; then they check what a site would: rows
in the database, messages on the broker, mail in the inbox, files on disk.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import Server, free_port
from storage.models import Camera, Violation
from tests.conftest import NO_MASK_CLIPS, VIDEOS, rows_in, start_cli, wait_for

CLIP = VIDEOS / NO_MASK_CLIPS[1]  # 7.7 s, one unmasked person: one violation per play
WATCHDOG_USEC = 2_000_000  # systemd would expect a ping every second


def _config(
    workdir: Path,
    db: str,
    *,
    loop: bool,
    mqtt_port: int | None = None,
    smtp_port: int | None = None,
    metrics_port: int = 0,
    redis_port: int | None = None,
    name: str = "maskwatch.yaml",
    extra: str = "",
) -> Path:
    text = (
        f"cameras:\n  - name: door\n    url: {CLIP}\n    loop: {str(loop).lower()}\n"
        f"database:\n  url: {db}\nsnapshots:\n  dir: {workdir}/snapshots\n"
        "delivery:\n  retry_initial_seconds: 0.5\n  retry_max_seconds: 2\n  poll_seconds: 0.2\n"
        f"metrics:\n  port: {metrics_port}\n  loop_timeout_seconds: 4\n"
    )
    if mqtt_port:
        text += f"mqtt:\n  enabled: true\n  port: {mqtt_port}\n  client_id: mw-svc-{mqtt_port}\n"
    if smtp_port:
        text += f"email:\n  enabled: true\n  port: {smtp_port}\n  security: none\n  recipients: [guard@example.com]\n"
    if redis_port:
        text += f"transport:\n  type: redis\n  redis_url: redis://127.0.0.1:{redis_port}/0\n  claim_idle_ms: 1500\n"
    cfg = workdir / name
    cfg.write_text(text + extra)
    return cfg


class FakeSystemd:
    """What systemd's notify socket receives from one service, with arrival times."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}

    def listen(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received += [(time.monotonic(), line) for line in data.decode().splitlines()]

    def until(self, message: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in self.received:
                if line == message:
                    return at
            self.listen(0.5)
        raise AssertionError(f"no {message} within {timeout:.0f} s; got {[m for _, m in self.received]}")

    def pings_after(self, since: float) -> list[float]:
        return [at for at, line in self.received if line == "WATCHDOG=1" and at > since]

    def close(self) -> None:
        self.sock.close()


def _healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _assert_fed(systemd: FakeSystemd, ready_at: float, seconds: float = 5.0) -> None:
    systemd.listen(seconds)
    pings = systemd.pings_after(ready_at)
    assert len(pings) >= seconds, f"{len(pings)} WATCHDOG=1 in {seconds:.0f} s after READY=1 (half period 1 s)"
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 1.6, f"the watchdog went {max(gaps):.1f} s without a ping"


def test_embedded_daemon_says_ready_and_feeds_the_watchdog(workdir: Path) -> None:
    port = free_port()
    cfg = _config(workdir, f"sqlite:///{workdir}/mw.db", loop=True, metrics_port=port)
    systemd = FakeSystemd(workdir / "notify.sock")
    run = start_cli(workdir, "run.log", "run", "--config", str(cfg), env=systemd.env)
    try:
        ready = systemd.until("READY=1", 90)
        _assert_fed(systemd, ready)
        code, health = _healthz(port)
        assert code == 200 and health["ok"] is True, health
        assert sorted(health["loops"]) == ["events", "inference", "outbox", "reader:door"]  # type: ignore[call-overload]
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0, (workdir / "run.log").read_text()[-2000:]
    systemd.listen(0.5)
    assert "STOPPING=1" in [m for _, m in systemd.received]
    systemd.close()


@pytest.mark.faults
def test_each_role_feeds_its_watchdog_and_a_wedged_one_stops(workdir: Path, redis: Server) -> None:
    db = f"sqlite:///{workdir}/mw.db"
    procs: dict[str, subprocess.Popen[str]] = {}
    systemds: dict[str, FakeSystemd] = {}
    ports: dict[str, int] = {}
    try:
        for role, extra in (
            ("events", {}),
            ("infer", {}),
            ("reader", {}),
            ("wedged", {"MASKWATCH_TEST_WEDGE": "inference:0"}),
        ):
            ports[role] = free_port()
            cfg = _config(workdir, db, loop=True, metrics_port=ports[role], redis_port=redis.port, name=f"{role}.yaml")
            systemds[role] = FakeSystemd(workdir / f"{role}.sock")
            command = "infer" if role == "wedged" else role
            procs[role] = start_cli(
                workdir, f"{role}.log", command, "--config", str(cfg), env={**systemds[role].env, **extra}
            )
        for role in ("events", "infer", "reader"):
            ready = systemds[role].until("READY=1", 120)
            _assert_fed(systemds[role], ready, 3.0)
            code, health = _healthz(ports[role])
            assert code == 200, (role, health)
        # the wedged worker: its loop stopped beating, so it stops pinging and says so
        wedged = systemds["wedged"]
        wedged.until("READY=1", 120)
        state = wait_for(lambda: (s := _healthz(ports["wedged"]))[0] == 503 and s, 30, "503 from the wedged worker")
        assert state[1]["stale"] == ["inference"], state
        wedged.received.clear()
        wedged.listen(3.0)
        assert not wedged.pings_after(0), "a wedged process must not feed the watchdog"
    finally:
        for role, p in procs.items():
            # the wedged one cannot finish its loop: systemd would kill it, and so does the test
            p.send_signal(signal.SIGKILL if role == "wedged" else signal.SIGTERM)
        for p in procs.values():
            p.wait(60)
        for s in systemds.values():
            s.close()


def _run_to_end(workdir: Path, cfg: Path, log: str) -> None:
    run = start_cli(workdir, log, "run", "--config", str(cfg))
    assert run.wait(180) == 0, (workdir / log).read_text()[-3000:]


def _subjects(smtp: object) -> Counter[str]:
    return Counter(str(m["Subject"]) for m in smtp.inbox.messages)  # type: ignore[attr-defined]


def _no_orphans(workdir: Path, rows: list[Violation]) -> None:
    referenced = {p for v in rows for p in (v.snapshot_path, v.crop_path) if p}
    on_disk = {str(p) for p in (workdir / "snapshots").rglob("*.jpg")}
    assert on_disk <= referenced, f"snapshot files without a row: {sorted(on_disk - referenced)}"


@pytest.mark.faults
def test_the_same_clip_twice_on_one_database_records_both_runs(workdir: Path, broker, smtp, db_url: str) -> None:
    """Frame and track ids start at 1 in every run; the second run's person is new, not a duplicate."""
    cfg = _config(workdir, db_url, loop=False, mqtt_port=broker.port, smtp_port=smtp.port)
    watcher = MqttWatcher(broker.port)
    _run_to_end(workdir, cfg, "first.log")
    assert len(rows_in(db_url, select(Violation))) == 1
    _run_to_end(workdir, cfg, "second.log")
    rows = rows_in(db_url, select(Violation))
    time.sleep(1.0)
    watcher.close()
    assert len(rows) == 2, [(v.id, v.session, v.first_frame_id, v.track_id) for v in rows]
    assert rows[0].session != rows[1].session
    assert all(v.ended_at is not None for v in rows)
    assert Counter(m["id"] for m in watcher.on("door/violation")) == {v.id: 1 for v in rows}
    assert sorted(_subjects(smtp).values()) == [1, 1]
    _no_orphans(workdir, rows)


@pytest.mark.faults
def test_kill_9_mid_violation_then_restart_loses_and_doubles_nothing(workdir: Path, broker, smtp, db_url: str) -> None:
    watcher = MqttWatcher(broker.port)
    looping = _config(workdir, db_url, loop=True, mqtt_port=broker.port, smtp_port=smtp.port, name="loop.yaml")
    run = start_cli(workdir, "killed.log", "run", "--config", str(looping))
    try:
        first = wait_for(lambda: rows_in(db_url, select(Violation)), 120, "the first violation")[0]
        wait_for(lambda: watcher.on("door/violation"), 30, "its MQTT alert")
        time.sleep(6)  # the person is still there: the violation is open and its sighting saved
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    killed_at = datetime.now(UTC)
    (left,) = rows_in(db_url, select(Violation))
    assert left.ended_at is None, "the violation was open when the daemon was killed"
    assert rows_in(db_url, select(Camera.status)) == ["online"], "what a dead process leaves behind"

    once = _config(workdir, db_url, loop=False, mqtt_port=broker.port, smtp_port=smtp.port, name="once.yaml")
    _run_to_end(workdir, once, "restarted.log")
    rows = rows_in(db_url, select(Violation).order_by(Violation.id))
    time.sleep(1.0)
    watcher.close()
    assert len(rows) == 2, "the restarted daemon records its own violation"
    recovered, second = rows
    assert recovered.id == first.id and recovered.end_reason == "recovered"
    assert recovered.ended_at is not None and first.started_at <= recovered.ended_at <= killed_at
    assert second.end_reason in ("track_lost", "shutdown") and second.ended_at is not None
    assert Counter(m["id"] for m in watcher.on("door/violation")) == {first.id: 1, second.id: 1}
    assert sorted(_subjects(smtp).values()) == [1, 1], _subjects(smtp)
    assert rows_in(db_url, select(Camera.status)) == ["offline"]
    _no_orphans(workdir, rows)


@pytest.mark.faults
def test_a_reader_killed_and_restarted_keeps_its_camera_judged(workdir: Path, redis: Server) -> None:
    """Over Redis: the new reader's frame ids start at 1 again; its camera must not go blind.

    With rejoin off, the person still in view after the restart is a new violation; the old
    events stage dropped the new run's frames until their ids passed the old run's (here
    some 125 frames, 25 s), so a bound of 18 s tells the two apart.
    """
    db = f"sqlite:///{workdir}/mw.db"
    cfg = _config(workdir, db, loop=True, redis_port=redis.port, extra="violations:\n  rejoin_seconds: 0\n")
    events = start_cli(workdir, "events.log", "events", "--config", str(cfg))
    infer = start_cli(workdir, "infer.log", "infer", "--config", str(cfg))
    reader = start_cli(workdir, "reader1.log", "reader", "--config", str(cfg))
    try:
        wait_for(lambda: rows_in(db, select(Violation)), 150, "the first violation")
        time.sleep(25)  # some plays of the clip: the old reader's frame ids are well past 125
        reader.send_signal(signal.SIGKILL)
        reader.wait(10)
        restarted = datetime.now(UTC)
        reader = start_cli(workdir, "reader2.log", "reader", "--config", str(cfg))
        wait_for(
            lambda: [v for v in rows_in(db, select(Violation)) if v.started_at > restarted],
            18,
            "a violation judged on the restarted reader's frames",
        )
    finally:
        for p in (reader, infer, events):
            p.send_signal(signal.SIGTERM)
        for p in (reader, infer, events):
            p.wait(60)
    sessions = {v.session for v in rows_in(db, select(Violation))}
    assert len(sessions) == 2


@pytest.mark.faults
def test_run_over_redis_on_one_host_serves_one_metrics_port_and_records(workdir: Path, redis: Server) -> None:
    """The supervisor's children bind no port; the supervisor serves everyone's health and metrics."""
    db = f"sqlite:///{workdir}/mw.db"
    port = free_port()
    cfg = _config(workdir, db, loop=True, metrics_port=port, redis_port=redis.port)
    systemd = FakeSystemd(workdir / "notify.sock")
    run = start_cli(workdir, "run.log", "run", "--config", str(cfg), env=systemd.env)
    try:
        wait_for(lambda: rows_in(db, select(Violation)), 150, "the clip's violation")
        code, health = wait_for(lambda: (s := _healthz(port))[0] == 200 and s, 30, "a healthy supervisor")
        assert set(health["children"]) == {"reader", "infer", "events"}  # type: ignore[arg-type]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as resp:
            metrics = resp.read().decode()
        assert 'maskwatch_frames_read_total{camera="door"}' in metrics
        assert 'maskwatch_frames_processed_total{camera="door"}' in metrics
        ready = systemd.until("READY=1", 5)
        _assert_fed(systemd, ready, 3.0)
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(90)
        systemd.close()
    log = (workdir / "run.log").read_text()
    assert code == 0, log[-3000:]
    assert "Address already in use" not in log and "restarting in" not in log


def test_notify_never_blocks_on_a_receiver_that_stopped_reading(tmp_path: Path) -> None:
    """A full notify queue must not hang the daemon (its STOPPING=1 at shutdown included)."""
    from daemon.systemd import notify

    systemd = FakeSystemd(tmp_path / "notify.sock")  # bound, never read
    os.environ["NOTIFY_SOCKET"] = str(systemd.path)
    try:
        started = time.monotonic()
        sent = [notify("WATCHDOG=1") for _ in range(50)]
        assert time.monotonic() - started < 2.0
        assert sent[0] and not all(sent), "the first ones queued, the rest dropped, none blocked"
    finally:
        del os.environ["NOTIFY_SOCKET"]
        systemd.close()


@pytest.mark.faults
def test_the_supervisor_kills_and_restarts_a_wedged_child(workdir: Path, redis: Server) -> None:
    """A child that lives but no longer works (its inference loop wedged on purpose) is restarted."""
    cfg = _config(workdir, f"sqlite:///{workdir}/mw.db", loop=True, redis_port=redis.port)
    run = start_cli(workdir, "run.log", "run", "--config", str(cfg), env={"MASKWATCH_TEST_WEDGE": "inference:0"})
    log = workdir / "run.log"
    try:
        wait_for(lambda: re.search(r"infer \(pid \d+\) is wedged: loop\(s\) not beating: inference", log.read_text()),
                 120, "the wedged infer child noticed")  # fmt: skip
        wait_for(lambda: "restarted infer" in log.read_text(), 60, "the wedged child restarted")
        assert run.poll() is None
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(90)
