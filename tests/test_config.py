"""`maskwatch config check` as a security lead uses it: every mistake named with path and line."""

from __future__ import annotations

from pathlib import Path

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
