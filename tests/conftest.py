"""Fixtures: the real servers (Redis, Mosquitto, PostgreSQL, SMTP, RTSP) and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.loopback.procs import Server, free_port, mosquitto, postgres_server, redis_server, rtsp_server
from bench.loopback.smtp import SmtpServer
from models.shared_data import REPO_ROOT, shared_dir

SHARED = shared_dir()
VIDEOS = SHARED / "videos"
NO_MASK_CLIPS = ["Gituatu_face-mask-detection_nomask.mp4", "yash42828_test_no_mask.mp4"]
MASK_CLIPS = [
    "Gituatu_face-mask-detection_mask.mp4",
    "Deshraj4884_Mask_Detection_System_mask.mp4",
    "916241958_opencv_mask_detection_mask.mp4",
]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``maskwatch ARGS`` as a user runs it, from the repository root."""
    proc = subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"maskwatch {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def start_cli(workdir: Path, log: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``maskwatch ARGS`` started in the background from ``workdir``, its output in ``workdir/log``."""
    out = open(workdir / log, "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", *args],
        cwd=workdir,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def start_daemon(config: Path, workdir: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return start_cli(workdir, "daemon.log", "run", "--config", str(config), env=env)


def rows_in(url: str, statement: Any) -> list[Any]:
    """What a statement selects from the daemon's database; nothing while its schema is not there yet."""
    from storage.db import Database

    db = Database(url, run_migrations=False)
    try:
        with db.session() as session:
            return list(session.scalars(statement).all())
    except Exception:  # noqa: BLE001 - the daemon may not have migrated yet
        return []
    finally:
        db.close()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = redis_server(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server, url = postgres_server(Path("/tmp"))
    server.start(timeout=30)
    time.sleep(0.5)
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite and on a real PostgreSQL (a clean schema each time)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mw.db"
    from storage.db import Database

    url: str = request.getfixturevalue("postgres_url")
    engine = Database(url, run_migrations=False).engine
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def rtsp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[dict[str, str]], Server]]:
    started: list[Server] = []

    def start(mounts: dict[str, str]) -> Server:
        server = rtsp_server(tmp_path_factory.mktemp("rtsp"), mounts).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()
