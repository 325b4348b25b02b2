"""`maskwatch soak --quick` as CI runs it: the real daemon under one short cycle of faults
(kill -9 and restart, broker down and up, RTSP stall, SMTP refusing, database locked), then
the invariants on what the database, an MQTT subscriber and the SMTP inbox saw."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.faults
def test_quick_soak_loses_nothing_and_doubles_nothing() -> None:
    res = run_cli("soak", "--quick", timeout=420)
    summary = dict(kv.split("=", 1) for kv in res.stdout.strip().splitlines()[-1].split())
    assert res.returncode == 0 and summary["ok"] == "1", res.stdout + res.stderr[-5000:]
    assert summary["lost"] == "0" and summary["duplicated"] == "0" and summary["open_left"] == "0"
    assert int(summary["faults"]) >= 5 and int(summary["violations"]) > 0


def test_soak_refuses_a_bad_duration() -> None:
    res = run_cli("soak", "--duration", "soon")
    assert res.returncode == 2 and "--duration 'soon'" in res.stderr and "Traceback" not in res.stderr


def test_sessions_of_a_killed_rtsp_server_end_at_the_kill(tmp_path) -> None:
    """The plays a camera was shown come from the RTSP server's log; a session the server died in
    has no "closed" line and must not run on into the sessions after the restart."""
    from bench.soak import rtsp_sessions

    log = tmp_path / "server.log"
    log.write_text(
        "rtsp server on 127.0.0.1:1\nplay door 100.0\nclosed door 130.0\nplay door 131.0\n"
        "rtsp server on 127.0.0.1:1\nplay door 160.0\nclosed door 200.0\nplay door 201.0\n"
    )
    assert rtsp_sessions(log, kills=[150.0], end=300.0) == {
        "door": [(100.0, 130.0), (131.0, 150.0), (160.0, 200.0), (201.0, 300.0)]
    }
