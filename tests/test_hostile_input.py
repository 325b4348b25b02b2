"""Hostile and careless input as a user gives it: broken media, mistyped paths and times, passwords with '@'.

Each bad item is one line on stderr (and an error object with ``--json``), the rest go on;
nothing hangs, nothing leaks a secret, nothing private is left world-readable.
"""

from __future__ import annotations

import json
import re
import signal
import stat
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import free_port
from config import ConfigError
from config.loader import parse_settings
from storage.models import Camera, CameraEvent, OutboxAlert
from tests.conftest import NO_MASK_CLIPS, VIDEOS, rows_in, run_cli, start_daemon, wait_for
from workers.sources import mask_url

GOOD_CLIP = VIDEOS / NO_MASK_CLIPS[0]  # one unmasked person: one violation


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus of broken and odd media, made here: nothing downloaded, nothing checked in."""
    root = tmp_path_factory.mktemp("media")
    clip = GOOD_CLIP.read_bytes()
    files = {
        "text.mp4": b"this is not a video\n",
        "zero.mp4": b"",
        "truncated.mp4": clip[:4000],  # the header survives, no frame does
        "text.jpg": b"this is not an image\n",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    cv2.imwrite(str(root / "gray.png"), np.full((64, 64), 128, np.uint8))
    cv2.imwrite(str(root / "alpha.png"), np.zeros((64, 64, 4), np.uint8))
    cv2.imwrite(str(root / "tiny.png"), np.zeros((1, 1, 3), np.uint8))
    png = (root / "gray.png").read_bytes()
    (root / "truncated.png").write_bytes(png[: len(png) // 2])
    (root / "wrong-container.mp4").write_bytes(png)  # a PNG named .mp4: FFmpeg reads it as a one-frame video
    return {p.name: p for p in root.iterdir()}


def _json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def _errors(stdout: str) -> dict[str, object]:
    return {str(o["file"]): o["error"] for o in _json_lines(stdout) if "error" in o}


def _stderr_lines(stderr: str, command: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith(f"maskwatch {command}: ")]


def test_scan_reports_each_bad_file_goes_on_and_keeps_what_it_writes_private(
    media: dict[str, Path], tmp_path: Path
) -> None:
    bad = ["text.mp4", "zero.mp4", "truncated.mp4"]
    cfg = tmp_path / "scan.yaml"
    cfg.write_text(f"cameras: []\nsnapshots:\n  dir: {tmp_path}/private/snapshots\n")
    db = tmp_path / "private" / "db" / "mw.db"
    started = time.monotonic()
    res = run_cli(
        "scan",
        "--json",
        "--config",
        str(cfg),
        "--db",
        f"sqlite:///{db}",
        *(str(media[n]) for n in bad),
        str(media["wrong-container.mp4"]),
        str(GOOD_CLIP),
        timeout=180,
    )
    assert time.monotonic() - started < 120, "a bad file must never be retried on and on"
    assert res.returncode == 1, res.stderr
    assert _errors(res.stdout) == {
        str(media["text.mp4"]): "cannot be opened as a video",
        str(media["zero.mp4"]): "cannot be opened as a video",
        str(media["truncated.mp4"]): "no frame could be decoded",
    }
    assert _stderr_lines(res.stderr, "scan") == [
        f"maskwatch scan: {media['text.mp4']}: cannot be opened as a video",
        f"maskwatch scan: {media['zero.mp4']}: cannot be opened as a video",
        f"maskwatch scan: {media['truncated.mp4']}: no frame could be decoded",
    ]
    assert "retrying" not in res.stderr
    found = [o for o in _json_lines(res.stdout) if "video" in o]
    assert [o["video"] for o in found] == [str(GOOD_CLIP)], "the good file after the bad ones is still scanned"
    # face photos and the history: 0600 files in 0700 folders made for them
    snapshots = sorted((tmp_path / "private" / "snapshots").rglob("*.jpg"))
    assert len(snapshots) == 2  # the frame and the face crop of the one violation
    for path in [db, *snapshots]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in [db.parent, *{p.parent for p in snapshots}, tmp_path / "private"]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_classify_reports_each_unreadable_file(media: dict[str, Path]) -> None:
    names = ["gray.png", "alpha.png", "tiny.png", "text.jpg", "truncated.png", "text.mp4", "zero.mp4"]
    res = run_cli("classify", "--json", *(str(media[n]) for n in names), timeout=120)
    assert res.returncode == 1, res.stderr
    expected = {
        str(media["text.jpg"]): "cannot read it as an image",
        str(media["truncated.png"]): "cannot read it as an image",
        str(media["text.mp4"]): "a video, not an image",
        str(media["zero.mp4"]): "a video, not an image",
    }
    assert _errors(res.stdout) == expected
    assert _stderr_lines(res.stderr, "classify") == [f"maskwatch classify: {f}: {e}" for f, e in expected.items()]
    labelled = {o["image"] for o in _json_lines(res.stdout) if "label" in o}
    assert labelled == {str(media[n]) for n in ["gray.png", "alpha.png", "tiny.png"]}, "grey, alpha, 1x1 are images"


def test_detect_reports_each_unreadable_file(media: dict[str, Path], tmp_path: Path) -> None:
    names = ["text.mp4", "zero.mp4", "truncated.mp4", "text.jpg", "gray.png", "alpha.png", "tiny.png"]
    res = run_cli("detect", "--json", *(str(media[n]) for n in names), str(tmp_path / "typo.jpg"), timeout=120)
    assert res.returncode == 2, "a path that does not exist is a usage error"
    expected = {
        str(media["text.mp4"]): "cannot be opened as a video",
        str(media["zero.mp4"]): "cannot be opened as a video",
        str(media["truncated.mp4"]): "no frame could be decoded",
        str(media["text.jpg"]): "cannot read it as an image",
        str(tmp_path / "typo.jpg"): "no such file",
    }
    assert _errors(res.stdout) == expected
    assert _stderr_lines(res.stderr, "detect") == [f"maskwatch detect: {f}: {e}" for f, e in expected.items()]
    seen = {o["image"] for o in _json_lines(res.stdout) if "faces" in o}
    assert seen == {str(media[n]) for n in ["gray.png", "alpha.png", "tiny.png"]}


def test_history_commands_refuse_a_mistyped_database_and_bad_times(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "mw.db"
    res = run_cli("violations", "--db", f"sqlite:///{typo}")
    assert res.returncode == 2 and res.stderr == (
        f"maskwatch violations: no database at {typo} (the daemon creates it; check the path)\n"
    )
    assert not typo.parent.exists(), "a typo creates no folder and no empty database"
    res = run_cli("cameras", "--db", "not a url")
    assert res.returncode == 2 and res.stderr.startswith("maskwatch cameras: not a database URL")
    res = run_cli("scan", "--db", "not a url", str(GOOD_CLIP))
    assert res.returncode == 2 and res.stderr.startswith("maskwatch scan: not a database URL")
    res = run_cli("stats", "--db", f"postgresql+psycopg://mw:{PASSWORD}@127.0.0.1:{free_port()}/mw")
    assert res.returncode == 2 and res.stderr == (
        "maskwatch stats: a password with '@' must be written %40 in a database URL\n"
    )
    res = run_cli("stats", "--db", f"postgresql+psycopg://mw:{PASSWORD.replace('@', '%40')}@127.0.0.1:{free_port()}/mw")
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stderr.startswith("maskwatch stats: cannot open the database: connection failed:")
    assert "Zsecret9" not in res.stderr
    for args, message in [
        (["stats", "--since", "foo"], "'foo' is neither a duration like 2h/30m/7d nor a date like 2026-11-26T08:00"),
        (["violations", "--since", "999999999d"], "'999999999d' reaches back before year 1"),
        (["violations", "--until", "0001-01-01"], "'0001-01-01' is out of range"),
    ]:
        res = run_cli(*args, "--db", f"sqlite:///{typo}")
        assert res.returncode == 2 and res.stderr == f"maskwatch {args[0]}: {message}\n", res.stderr


PASSWORD = "Xy@Zsecret9"
TOKEN = "T0kenSecret77"


@pytest.mark.faults
def test_a_broken_camera_file_is_offline_without_spinning_and_no_secret_leaves(workdir: Path, broker) -> None:
    """A text file named .mp4, a looping file that opens but holds no frame, and an RTSP camera (nothing
    listening) whose password has '@' and whose URL has a token."""
    broken = workdir / "broken.mp4"
    broken.write_text("not a video\n")
    empty = workdir / "truncated.mp4"
    empty.write_bytes(GOOD_CLIP.read_bytes()[:4000])
    db = workdir / "var" / "db" / "mw.db"
    cfg = workdir / "maskwatch.yaml"
    cfg.write_text(
        "cameras:\n"
        f"  - name: broken\n    url: {broken}\n"
        f"  - name: looped\n    url: {empty}\n    loop: true\n"
        f"  - name: gate\n    url: rtsp://admin:${{GATE_PASSWORD}}@127.0.0.1:{free_port()}/live?token=${{GATE_TOKEN}}\n"
        f"database:\n  url: sqlite:///{db}\n"
        f"snapshots:\n  dir: {workdir}/snapshots\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  client_id: mw-hostile-{broker.port}\n"
        "metrics:\n  port: 0\n"
    )
    watcher = MqttWatcher(broker.port)
    daemon = start_daemon(cfg, workdir, env={"GATE_PASSWORD": PASSWORD, "GATE_TOKEN": TOKEN})
    url = f"sqlite:///{db}"
    try:
        wait_for(lambda: "giving up" in (workdir / "daemon.log").read_text(), 120, "the broken file given up")
        wait_for(lambda: watcher.on("gate/status"), 30, "the gate camera's status on MQTT")
        time.sleep(3)  # time enough to spin, had it kept retrying
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
    log = (workdir / "daemon.log").read_text()
    assert code == 0, log[-3000:]
    assert len([line for line in log.splitlines() if "camera broken:" in line]) == 3, "three tries, then it stops"
    cameras = {c.name: c for c in rows_in(url, select(Camera))}
    assert cameras["broken"].status == "offline"
    details = rows_in(url, select(CameraEvent.detail).where(CameraEvent.camera == "broken"))
    assert f"cannot open {broken}" in details, details
    assert cameras["looped"].status == "offline"
    looped = rows_in(url, select(CameraEvent.detail).where(CameraEvent.camera == "looped"))
    assert looped == ["reader started", "no frame could be decoded", "daemon stopped"], "once, not on every rewind"
    # the secrets: nowhere in the log, the tables, the outbox or the (retained) MQTT status
    stored = [c.source for c in cameras.values()] + rows_in(url, select(CameraEvent.detail))
    stored += [json.dumps(a.payload, default=str) for a in rows_in(url, select(OutboxAlert))]
    published = json.dumps(watcher.messages)
    watcher.close()
    assert re.fullmatch(r"rtsp://admin:\*\*\*@127\.0\.0\.1:\d+/live\?token=\*\*\*", cameras["gate"].source)
    for text in [log, published, *stored]:
        assert "Zsecret9" not in text and TOKEN not in text, text[:300]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_mask_url_takes_the_last_at_and_secret_parameters() -> None:
    assert mask_url("rtsp://admin:Xy@Zsecret9@host/live") == "rtsp://admin:***@host/live"
    assert mask_url("cannot open http://cam/mjpg?user=me&PWD=hunter2&fps=5 now") == (
        "cannot open http://cam/mjpg?user=me&PWD=***&fps=5 now"
    )
    assert mask_url("http://cam/snap?api_key=abc;auth=def#x") == "http://cam/snap?api_key=***;auth=***#x"
    assert mask_url("rtsp://cam:554/live") == "rtsp://cam:554/live"
    assert mask_url("http://h/x?next=rtsp://u:p4ss@h2/") == "http://h/x?next=rtsp://u:***@h2/"
    for line in ["a" * 1_000_000, "http://u:p" * 100_000, "?k" * 500_000, "x://" + "a@" * 500_000]:
        started = time.monotonic()
        mask_url(line)  # every log line passes here: a backtracking pattern took seconds on 40 KB
        assert time.monotonic() - started < 1.0, line[:20]


SECRET_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from("@:/%é")


@settings(max_examples=200, deadline=1000)
@given(
    user=st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=8),
    password=st.text(SECRET_CHARS, min_size=6, max_size=24),
    scheme=st.sampled_from(["rtsp", "http", "https", "rtsps", "redis", "postgresql+psycopg"]),
    host=st.sampled_from(["10.0.0.7", "cam.example.com:554", "[::1]:8554"]),
)
def test_no_generated_password_survives_masking(user: str, password: str, scheme: str, host: str) -> None:
    line = "camera gate: cannot open {}; retrying in 2.0 s"
    assume(password not in line.format(f"{scheme}://{user}:***@{host}/stream1"))  # not in the rest by chance
    assert password not in mask_url(line.format(f"{scheme}://{user}:{password}@{host}/stream1"))


@settings(max_examples=200, deadline=1000)
@given(
    name=st.sampled_from(["password", "pwd", "pass", "token", "key", "auth", "secret", "api_key", "access_token"]),
    upper=st.booleans(),
    value=st.text(st.characters(codec="ascii", categories=["L", "N"], include_characters="-._~%+/"), min_size=6),
)
def test_no_secret_query_parameter_survives_masking(name: str, upper: bool, value: str) -> None:
    url = "http://cam.example.com/video.mjpg?fps=5&{}={}&res=hd"
    assume(value not in url.format(name, "***"))
    assert value not in mask_url(url.format(name.upper() if upper else name, value))


SETTINGS_KEYS = [
    "cameras", "name", "url", "mqtt", "topic_prefix", "email", "recipients", "sender", "database", "violations",
    "track_lost_seconds", "min_hits", "window", "roi", "metrics", "port", "snapshots", "dir", "transport", "type",
]  # fmt: skip
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
TREES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(SETTINGS_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def _only_one_line_problems(text: str) -> None:
    try:
        parse_settings(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and all(p and "\n" not in p and "\r" not in p for p in exc.problems), exc.problems


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES)
def test_random_settings_trees_give_one_line_problems(tree: object) -> None:
    """Whatever the tree (wrong types, inf, huge numbers, odd keys): a Settings or one-line problems, nothing else."""
    _only_one_line_problems(yaml.safe_dump({"cameras": [{"name": "a", "url": "a.mp4"}], "x": tree}))
    _only_one_line_problems(yaml.safe_dump(tree))


@settings(max_examples=200, deadline=2000)
@given(text=st.text(max_size=200) | st.text(st.sampled_from("{}[]:,-&*!|>'\"%@`#\n \t?abc0.$"), max_size=200))
def test_random_yaml_strings_give_one_line_problems(text: str) -> None:
    _only_one_line_problems(text)
