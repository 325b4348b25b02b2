"""`maskwatch config check` as a security lead uses it: every mistake named with path and line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_cli


def test_example_config_is_valid() -> None:
    res = run_cli(
        "config", "check", str(REPO_ROOT / "config" / "maskwatch.example.yaml"), env={"ENTRANCE_PASSWORD": "s3cret"}
    )
    assert res.returncode == 0, res.stderr
    assert "OK (1 camera(s))" in res.stdout


def test_every_error_has_its_path_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        "cameras:\n"
        "  - name: lobby\n"
        "    url: lobby.mp4\n"
        "  - name: gate\n"
        "    url: rtsp://viewer:${GATE_PASSWORD}@10.0.0.7/live\n"
        "    colour: red\n"
        "  - name: back door\n"
        "    url: door.mp4\n"
        "    roi: [0.5, 0, 0.2, 1]\n"
        "mqtt:\n"
        "  port: 99999\n"
        "violations:\n"
        "  min_hits: 6\n"
        "  window: 5\n"
    )
    res = run_cli("config", "check", str(cfg), env={})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    expected = [
        "cameras[1].url: environment variable GATE_PASSWORD is not set (line 5)",
        "cameras[1].colour: unknown key (line 6)",
        "cameras[2].name: must be 1-64 letters, digits, '-' or '_', starting with a letter or digit (line 7)",
        "cameras[2].roi: must be [x1, y1, x2, y2] with 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 (line 9)",
        "mqtt.port: Input should be less than or equal to 65535 (line 11)",
        "violations: min_hits (6) must not exceed window (5) (line 12)",
    ]
    assert lines == [f"{cfg}: {e}" for e in expected]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("cameras:\n  - name: a\n    url: [unclosed\n")
    res = run_cli("config", "check", str(cfg))
    assert res.returncode == 2
    assert res.stderr.startswith(f"{cfg}: not valid YAML:")
    assert "(line 4)" in res.stderr or "(line 3)" in res.stderr


def test_missing_file_is_reported(tmp_path: Path) -> None:
    res = run_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert res.returncode == 2
    assert "cannot read: No such file or directory" in res.stderr


def test_duplicate_camera_names(tmp_path: Path) -> None:
    cfg = tmp_path / "dup.yaml"
    cfg.write_text("cameras:\n  - name: a\n    url: x.mp4\n  - name: a\n    url: y.mp4\n")
    res = run_cli("config", "check", str(cfg))
    assert res.returncode == 2
    assert "camera name 'a' is used twice" in res.stderr


# --- hostile and careless files: each refused in one line with its path and line, exit 2, no traceback ---

CAMERA = "cameras:\n  - name: lobby\n    url: lobby.mp4\n"


def _refused(res: subprocess.CompletedProcess[str], cfg: Path) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{cfg}: ")
    return lines[0].removeprefix(f"{cfg}: ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            'cameras:\n  - name: "yash\\n"\n    url: a.mp4\n',
            "cameras[0].name: must be 1-64 letters, digits, '-' or '_', starting with a letter or digit (line 2)",
            id="name-with-trailing-newline",
        ),
        pytest.param(
            CAMERA + "violations:\n  track_lost_seconds: .inf\n",
            "violations.track_lost_seconds: Input should be a finite number (line 5)",
            id="inf",
        ),
        pytest.param(
            CAMERA + "violations:\n  min_seconds: .nan\n",
            "violations.min_seconds: Input should be a finite number (line 5)",
            id="nan",
        ),
        pytest.param(
            CAMERA + "snapshots:\n  retention_days: 1e300\n",
            "snapshots.retention_days: Input should be less than or equal to 36500 (line 5)",
            id="huge-float",
        ),
        pytest.param(
            CAMERA + "mqtt:\n  topic_prefix: 'site/#'\n",
            "mqtt.topic_prefix: must not contain '#', '+', NUL or control characters (MQTT wildcards are for subscribers) (line 5)",
            id="topic-wildcard",
        ),
        pytest.param(
            CAMERA + "mqtt:\n  topic_prefix: $SYS/maskwatch\n",
            "mqtt.topic_prefix: must not start with '$' (topics the broker reserves) (line 5)",
            id="topic-dollar",
        ),
        pytest.param(
            CAMERA + "mqtt:\n  topic_prefix: site//maskwatch\n",
            "mqtt.topic_prefix: must be one or more non-empty levels separated by '/', like site/maskwatch (line 5)",
            id="topic-empty-level",
        ),
        pytest.param(
            CAMERA + 'email:\n  recipients: ["boss@example.com\\nBcc: all@example.com"]\n',
            "email.recipients[0]: 'boss@example.com\\nBcc: all@example.com' is not an email address like name@example.com (line 5)",
            id="recipient-newline",
        ),
        pytest.param(
            CAMERA + "email:\n  sender: Guard <guard@example.com>\n",
            "email.sender: 'Guard <guard@example.com>' is not an email address like name@example.com (line 5)",
            id="sender-display-name",
        ),
        pytest.param(
            CAMERA + "database:\n  url: not a url\n",
            "database.url: not a database URL: expected sqlite:///path or postgresql+psycopg://user@host/db (line 5)",
            id="garbage-db-url",
        ),
        pytest.param(
            CAMERA + "database:\n  url: postgresql+nosuchdriver://u:${DBPW:-pw}@db/x\n",
            "database.url: unknown database dialect or driver 'postgresql+nosuchdriver' (line 5)",
            id="unknown-db-driver",
        ),
        pytest.param(
            CAMERA + "database:\n  url: postgresql+psycopg://mw:Xy@Zsecret9@db/mw\n",
            "database.url: a password with '@' must be written %40 in a database URL (line 5)",
            id="db-password-with-at",
        ),
        pytest.param(
            CAMERA + "cameras:\n  - name: other\n    url: b.mp4\n",
            "cameras: key given twice (lines 1 and 4)",
            id="duplicate-key",
        ),
        pytest.param(
            "base: &b {name: lobby, url: a.mp4}\ncameras:\n  - *b\n",
            "YAML aliases (*name) are not allowed in the settings (line 3)",
            id="alias",
        ),
        pytest.param("cameras: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 32 levels (line 1)", id="deep"),
        pytest.param("cameras:\n" + "- {}\n" * 30_000, "more than 20000 values (line 19999)", id="many-values"),
        pytest.param(
            CAMERA + "transport:\n  max_frames: " + "9" * 5000 + "\n",
            "not valid YAML: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; "
            "use sys.set_int_max_str_digits() to increase the limit (line 5)",
            id="5000-digit-int",
        ),
        pytest.param(
            CAMERA + "cameras\x00: []\n", "not valid YAML: character #x0000 is not allowed in YAML (line 4)", id="nul"
        ),
    ],
)
def test_hostile_settings_are_refused_in_one_line(tmp_path: Path, body: str, expected: str) -> None:
    cfg = tmp_path / "hostile.yaml"
    cfg.write_text(body)
    assert _refused(run_cli("config", "check", str(cfg)), cfg) == expected


def test_thousands_of_problems_are_cut_at_a_hundred(tmp_path: Path) -> None:
    cfg = tmp_path / "many.yaml"
    cfg.write_text("cameras:\n" + "  - name: cam\n" * 150)  # each lacks its url: 150 problems
    res = run_cli("config", "check", str(cfg))
    lines = res.stderr.splitlines()
    assert res.returncode == 2 and len(lines) == 101, lines[-3:]
    assert lines[0] == f"{cfg}: cameras[0].url: Field required (line 2)"
    assert lines[-1] == f"{cfg}: ... and 50 more problems"


def test_non_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    cfg = tmp_path / "latin1.yaml"
    cfg.write_bytes("cameras:\n  - name: café\n    url: a.mp4\n".encode("latin-1"))
    assert _refused(run_cli("config", "check", str(cfg)), cfg) == "not UTF-8: byte 0xe9 at offset 22 (line 2)"


def test_sqlite_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file where the folder should be")
    cfg = tmp_path / "db.yaml"
    cfg.write_text(CAMERA + f"database:\n  url: sqlite:///{tmp_path}/var/db/mw.db\n")
    assert _refused(run_cli("config", "check", str(cfg)), cfg) == (
        f"database.url: cannot create {tmp_path}/var/db: {tmp_path}/var is not a folder (line 5)"
    )


def test_sqlite_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    """A real read-only folder; root loses the capabilities that would let it write anyway."""
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    cfg = tmp_path / "db.yaml"
    cfg.write_text(CAMERA + f"database:\n  url: sqlite:///{ro}/sub/mw.db\n")
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"] if os.geteuid() == 0 else []
    res = subprocess.run(
        [*prefix, sys.executable, "-m", "daemon.cli", "config", "check", str(cfg)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert _refused(res, cfg) == f"database.url: cannot create {ro}/sub/mw.db: folder {ro} is not writable (line 5)"


# Run from a small launcher: a child's ru_maxrss starts at its parent's peak (Linux keeps it across
# fork and exec), so measured straight from pytest it would report pytest's own memory.
LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
timer = __import__("threading").Timer(30, proc.kill)  # the bomb used to grow to 3 GB: never wait unbounded
timer.start()
_, status, usage = os.wait4(proc.pid, 0)
timer.cancel()
with open(sys.argv[1], "w") as f:
    json.dump({"cpu": usage.ru_utime + usage.ru_stime, "mb": usage.ru_maxrss / 1024}, f)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _measured(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """``maskwatch ARGS`` with the CPU seconds and peak memory (MB) of that one process."""
    stats = tmp_path / "usage.json"
    cli = [sys.executable, "-m", "daemon.cli", *args]
    res = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(stats), *cli], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    usage = json.loads(stats.read_text())
    return res, usage["cpu"], usage["mb"]


def _billion_laughs(path: Path) -> None:
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]  # 9 levels: 9^9 strings
    path.write_text("\n".join(lines) + "\ncameras:\n  - name: x\n    url: ${X:-a}\n    roi: *a8\n")


def _fifty_megabytes(path: Path) -> None:
    with path.open("w") as f:
        f.write("cameras:\n")
        block = "  - name: cam\n    url: ${CAM_URL:-a.mp4}\n" * 10_000
        while f.tell() < 50_000_000:
            f.write(block)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_billion_laughs, "YAML aliases (*name) are not allowed in the settings (line 2)"),
        (_fifty_megabytes, "larger than 1 MB: not a maskwatch configuration"),
    ],
    ids=["alias-bomb", "50MB"],
)
def test_bombs_are_refused_fast_and_small(tmp_path: Path, make: Callable[[Path], None], expected: str) -> None:
    cfg = tmp_path / "bomb.yaml"
    make(cfg)
    res, cpu_seconds, peak_mb = _measured(tmp_path, "config", "check", str(cfg))
    print(f"{cfg.stat().st_size} bytes refused: {cpu_seconds:.2f} s CPU, {peak_mb:.0f} MB peak")
    assert _refused(res, cfg) == expected
    assert cpu_seconds < 1.0 and peak_mb < 100, (cpu_seconds, peak_mb)  # the whole process, interpreter included


def test_a_device_that_never_ends_is_refused(tmp_path: Path) -> None:
    res = run_cli("config", "check", "/dev/zero", timeout=30)
    assert res.returncode == 2 and res.stderr == "/dev/zero: larger than 1 MB: not a maskwatch configuration\n"


def test_metrics_port_in_use_is_one_line_before_models_load(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg.write_text(
            CAMERA + f"database:\n  url: sqlite:///{tmp_path}/mw.db\nmetrics:\n  host: 127.0.0.1\n  port: {port}\n"
        )
        started = time.monotonic()
        res = run_cli("run", "--config", str(cfg), timeout=60)
        elapsed = time.monotonic() - started
    assert _refused(res, cfg) == f"metrics.port: 127.0.0.1:{port} cannot be bound: Address already in use (line 8)"
    assert elapsed < 5, f"{elapsed:.1f} s: the check must come before the models load"
    assert not (tmp_path / "mw.db").exists(), "nothing is opened before the checks pass"


def test_unreachable_database_at_run_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    cfg.write_text(CAMERA + f"database:\n  url: postgresql+psycopg://mw:pw@127.0.0.1:{port}/mw\nmetrics:\n  port: 0\n")
    res = run_cli("run", "--config", str(cfg), timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert res.stderr.splitlines()[-1].startswith("maskwatch run: cannot open the database: connection failed:")


def test_active_hours_are_parsed_once_and_may_wrap_past_midnight() -> None:
    from datetime import time

    from config.settings import Settings

    night = Settings.model_validate({"cameras": [], "schedule": {"active_hours": "22:00-06:00"}}).schedule
    assert night.active_hours is not None
    assert night.active_hours.contains(time(23, 30)) and night.active_hours.contains(time(5, 59))
    assert not night.active_hours.contains(time(12, 0))
    day = Settings.model_validate({"cameras": [], "schedule": {"active_hours": "07:00-24:00"}}).schedule
    assert day.active_hours is not None and day.active_hours.contains(time(23, 59, 59))
    assert night.model_dump() == {"active_hours": "22:00-06:00"}
