"""Scale-out over Redis: separate reader, inference and events processes, killed and restarted.

Readers play the shared clips in real time (files, no loop), so each clip is seen once and
the expected violations are those of `maskwatch scan`: one for the unmasked person, none
for the masked one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import Server, free_port
from storage.models import Violation
from tests.conftest import MASK_CLIPS, NO_MASK_CLIPS, VIDEOS, rows_in, start_cli, wait_for


def _role(workdir: Path, name: str, *args: str) -> subprocess.Popen[str]:
    return start_cli(workdir, f"{name}.log", *args)


def _start_pipeline(
    workdir: Path, cfg: Path, infer_workers: int
) -> tuple[subprocess.Popen[str], list[subprocess.Popen[str]]]:
    """An events process and N inference workers, given time to load their models."""
    events = _role(workdir, "events", "events", "--config", str(cfg))
    workers = [_role(workdir, f"infer{i}", "infer", "--config", str(cfg)) for i in range(infer_workers)]
    time.sleep(8)  # models loaded before the cameras start
    return events, workers


def _stop(*procs: subprocess.Popen[str]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)


def _violations(url: str) -> list[tuple[str, str]]:
    return [(v.camera, v.label) for v in rows_in(url, select(Violation))]


@pytest.mark.faults
def test_roles_over_redis_survive_a_killed_worker(workdir: Path, redis: Server, broker: Server, db_url: str) -> None:
    cfg = workdir / "maskwatch.yaml"
    cfg.write_text(
        "cameras:\n"
        f"  - name: door\n    url: {VIDEOS / NO_MASK_CLIPS[1]}\n"
        f"  - name: lobby\n    url: {VIDEOS / MASK_CLIPS[0]}\n"
        f"transport:\n  type: redis\n  redis_url: redis://127.0.0.1:{redis.port}/0\n  claim_idle_ms: 1500\n"
        "  max_frames: 64\n"
        f"database:\n  url: {db_url}\nsnapshots:\n  dir: {workdir}/snaps\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  client_id: scale-{broker.port}\n"
        "metrics:\n  enabled: false\n"
    )
    watcher = MqttWatcher(broker.port)
    events, workers = _start_pipeline(workdir, cfg, 2)
    readers = [_role(workdir, f"reader-{c}", "reader", "--config", str(cfg), "--camera", c) for c in ("door", "lobby")]
    try:
        time.sleep(3)
        workers[0].send_signal(signal.SIGKILL)  # mid-stream: its pending frames must be reclaimed
        for r in readers:
            assert r.wait(120) == 0, (workdir / "reader-door.log").read_text()[-2000:]
        wait_for(lambda: _violations(db_url), 60, "the violation")
        time.sleep(6)  # let the survivor finish what was reclaimed
    finally:
        _stop(events, *workers, *readers)
    assert _violations(db_url) == [("door", "without_mask")]
    assert events.returncode == 0
    time.sleep(0.5)
    assert len(watcher.on("door/violation")) == 1
    watcher.close()


@pytest.mark.faults
def test_supervisor_restarts_a_crashed_role(workdir: Path, redis: Server) -> None:
    cfg = workdir / "maskwatch.yaml"
    cfg.write_text(
        f"cameras:\n  - name: lobby\n    url: {VIDEOS / MASK_CLIPS[0]}\n    loop: true\n"
        f"transport:\n  type: redis\n  redis_url: redis://127.0.0.1:{redis.port}/0\n"
        f"database:\n  url: sqlite:///{workdir}/mw.db\nsnapshots:\n  dir: {workdir}/snaps\nmetrics:\n  enabled: false\n"
    )
    run = _role(workdir, "run", "run", "--config", str(cfg))
    log = workdir / "run.log"
    try:
        started = wait_for(lambda: re.search(r"started infer \(pid (\d+)\)", log.read_text()), 60, "the infer child")
        os.kill(int(started.group(1)), signal.SIGKILL)
        wait_for(lambda: "restarted infer" in log.read_text(), 30, "the restart")
        assert run.poll() is None
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(90)
    assert code == 0, log.read_text()[-2000:]
    assert "infer exited with -9; restarting in 1 s" in log.read_text()


@pytest.mark.faults
def test_redis_restart_mid_run_still_ends_with_the_violation(workdir: Path, redis: Server) -> None:
    url = f"sqlite:///{workdir}/mw.db"
    cfg = workdir / "maskwatch.yaml"
    cfg.write_text(
        f"cameras:\n  - name: door\n    url: {VIDEOS / NO_MASK_CLIPS[1]}\n"
        f"transport:\n  type: redis\n  redis_url: redis://127.0.0.1:{redis.port}/0\n"
        f"database:\n  url: {url}\nsnapshots:\n  dir: {workdir}/snaps\nmetrics:\n  enabled: false\n"
    )
    events, (infer,) = _start_pipeline(workdir, cfg, 1)
    reader = _role(workdir, "reader", "reader", "--config", str(cfg))
    try:
        time.sleep(1.5)
        redis.restart()  # mid-run: streams and consumer groups are gone
        assert reader.wait(120) == 0
        wait_for(lambda: _violations(url), 60, "the violation after the restart")
        time.sleep(3)
    finally:
        _stop(events, infer, reader)
    assert _violations(url) == [("door", "without_mask")]
    assert events.returncode == 0 and infer.returncode == 0


@pytest.mark.faults
def test_backpressure_drops_oldest_frames_and_says_so(workdir: Path) -> None:
    """Cameras sampled faster than inference can go: memory stays bounded, drops are counted."""
    cfg = workdir / "maskwatch.yaml"
    cams = "".join(
        f"  - name: cam{i}\n    url: {VIDEOS / MASK_CLIPS[1]}\n    detect_fps: 25\n    loop: true\n" for i in range(3)
    )
    port = free_port()
    cfg.write_text(
        f"cameras:\n{cams}transport:\n  max_frames: 2\ninference:\n  motion_gate: false\n  batch: 1\n"
        f"database:\n  url: sqlite:///{workdir}/mw.db\nsnapshots:\n  dir: {workdir}/snaps\n"
        f"metrics:\n  port: {port}\n"
    )
    run = _role(workdir, "run", "run", "--config", str(cfg))
    try:

        def dropped() -> float:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                    text = resp.read().decode()
            except OSError:
                return 0.0
            return sum(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("maskwatch_frames_dropped_total{")
            )

        wait_for(lambda: dropped() > 20, 90, "dropped frames in the metrics")
        time.sleep(10)  # past the models' warm-up allocations
        rss_mb = psutil.Process(run.pid).memory_info().rss / 2**20
        time.sleep(15)
        grown = psutil.Process(run.pid).memory_info().rss / 2**20 - rss_mb
        assert grown < 100, f"memory must stay bounded, grew {grown:.0f} MB in 15 s"
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
