"""The security desk: the daemon runs a clip of ../shared/videos with its console on, and the
tests use the console as staff and API clients do (requests, schemathesis, headless Chromium).

One daemon serves the whole module: it loops the no-mask clip, so it opens its violation
once and keeps the pipeline busy the way a live camera does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sqlalchemy import select, update

from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import Server, free_port, mosquitto
from daemon.console.auth import hash_token
from models.shared_data import REPO_ROOT
from storage.models import Review, Violation
from tests.conftest import VIDEOS, rows_in, run_cli, start_daemon, wait_for
from tests.servers.webhook import WebhookReceiver

REVIEWER_TOKEN = "desk-bot-token-never-logged-0123456789"
VIEWER_TOKEN = "wallboard-token-0123456789abcdef"
XSS = "<img src=x onerror=alert(1)>"
HOOK_SECRET = "hook-secret-never-logged-0123456789"
SCREENSHOTS = os.environ.get("MASKWATCH_SCREENSHOTS")  # a folder (e.g. docs): the browser test's pictures land there


@dataclass
class Desk:
    base: str
    workdir: Path
    config: Path
    db_url: str
    password: str
    watcher: MqttWatcher
    daemon: subprocess.Popen[str]
    broker_port: int
    hook: WebhookReceiver

    def api(self, path: str, token: str = REVIEWER_TOKEN, **kw: Any) -> requests.Response:
        return requests.get(self.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)

    def violations(self) -> list[Violation]:
        return rows_in(self.db_url, select(Violation).order_by(Violation.id))

    def record_violation(self, camera: str = "door") -> int:
        """A violation written the way the events stage writes one (the recorder), for what comes next."""
        from config import load_settings
        from daemon.wiring import build_recorder
        from storage.db import Database
        from workers.violations import OpenedViolation

        settings = load_settings(str(self.config))
        db = Database(self.db_url)
        try:
            frame = np.full((360, 640, 3), 90, dtype=np.uint8)
            vid = build_recorder(settings, db).opened(
                OpenedViolation(
                    camera=camera,
                    track_id=900 + int(time.time() * 1000) % 100000,
                    first_frame_id=10_000_000 + int(time.time() * 1000) % 1_000_000,
                    started_at=datetime.now(UTC),
                    label="without_mask",
                    score=0.91,
                    frame=frame,
                    box=(300.0, 100.0, 360.0, 170.0),
                )
            )
        finally:
            db.close()
        assert vid is not None
        return vid

    def close_violation(self, vid: int) -> None:
        """The violation's person gone, as the events stage tells the recorder."""
        from config import load_settings
        from daemon.wiring import build_recorder
        from storage.db import Database

        db = Database(self.db_url)
        try:
            build_recorder(load_settings(str(self.config)), db).closed(vid, datetime.now(UTC), 0.91, None)
        finally:
            db.close()

    def hostile_camera(self) -> None:
        """Names in the config are restricted; one in the database (an old or edited row) must still be harmless."""
        from config import load_settings
        from daemon.wiring import build_recorder
        from storage.db import Database

        db = Database(self.db_url)
        try:
            build_recorder(load_settings(str(self.config)), db).camera_status(XSS, "offline", f"detail {XSS}")
        finally:
            db.close()


def login(base: str, name: str, password: str) -> requests.Session:
    """What a browser does: fetch the form (its CSRF cookie and field), post it, keep the session cookie."""
    s = requests.Session()
    form = s.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    r = s.post(
        f"{base}/login",
        data={"name": name, "password": password, "csrf": token.group(1), "next": "/violations"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["location"] == "/violations", (r.status_code, r.headers)
    return s


def csrf_of(session: requests.Session, base: str, path: str = "/violations") -> str:
    page = session.get(base + path, timeout=30).text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


GONE_CONFIG = "homeassistant/binary_sensor/maskwatch_gone/unmasked/config"  # a camera of an older config


def _publish_retained(port: int, topic: str, payload: str) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"old-deployment-{port}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("desk")
    broker: Server = mosquitto(workdir).start()
    port = free_port()
    hook = WebhookReceiver(HOOK_SECRET).start()
    hook.down = True  # an outage from the start: the webhook test brings it back
    os.environ["HOOK_SECRET"] = HOOK_SECRET  # the daemon's and this process's (the tests load the config too)
    cfg = workdir / "maskwatch.yaml"
    db_url = f"sqlite:///{workdir}/mw.db"
    cfg.write_text(
        "cameras:\n"
        f"  - name: door\n    url: {VIDEOS / 'yash42828_test_no_mask.mp4'}\n    loop: true\n"
        f"database:\n  url: {db_url}\n"
        f"snapshots:\n  dir: {workdir}/snapshots\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  client_id: mw-desk-{broker.port}\n  discovery: true\n"
        "delivery:\n  retry_initial_seconds: 0.5\n  retry_max_seconds: 2\n  poll_seconds: 0.2\n"
        "metrics:\n  port: 0\n"
        "console:\n"
        f"  enabled: true\n  port: {port}\n  public_url: http://127.0.0.1:{port}\n"
        "  login_window_seconds: 20\n"
        "  api_tokens:\n"
        "    - {name: desk-bot, token_env: DESK_TOKEN, role: reviewer}\n"
        f"    - {{name: wallboard, token_hash: '{hash_token(VIEWER_TOKEN)}', role: viewer}}\n"
        "webhooks:\n"
        f"  - {{name: door-panel, url: 'http://127.0.0.1:{hook.port}/door', secret: '${{HOOK_SECRET}}', cameras: [door]}}\n"
        f"  - {{name: lobby-only, url: 'http://127.0.0.1:{hook.port}/lobby', secret: '${{HOOK_SECRET}}', cameras: [lobby]}}\n"
    )
    _publish_retained(broker.port, GONE_CONFIG, json.dumps({"name": "Unmasked person", "state_topic": "x"}))
    watcher = MqttWatcher(broker.port)
    daemon = start_daemon(cfg, workdir, env={"DESK_TOKEN": REVIEWER_TOKEN})
    log = workdir / "daemon.log"
    try:
        found = wait_for(
            lambda: re.search(r"log in at (\S+) as 'admin' with password (\S+) ", log.read_text()), 60, "the log-in"
        )
        base = found.group(1).rstrip("/")
        assert base == f"http://127.0.0.1:{port}"
        desk = Desk(base, workdir, cfg, db_url, found.group(2), watcher, daemon, broker.port, hook)
        wait_for(lambda: desk.violations(), 150, "the clip's violation")
        yield desk
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
        watcher.close()
        broker.stop()
        hook.stop()
        os.environ.pop("HOOK_SECRET", None)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert REVIEWER_TOKEN not in text and VIEWER_TOKEN not in text and HOOK_SECRET not in text


def test_first_start_shows_the_login_once_and_keeps_only_its_hash(desk: Desk) -> None:
    log = (desk.workdir / "daemon.log").read_text()
    assert log.count(desk.password) == 1
    assert f"console on {desk.base}/" in log
    kept = json.loads((desk.workdir / "var" / "console-admin.json").read_text())
    assert kept["name"] == "admin" and kept["role"] == "reviewer"
    assert kept["password_hash"].startswith("$argon2") and desk.password not in json.dumps(kept)
    assert oct((desk.workdir / "var" / "console-admin.json").stat().st_mode & 0o777) == "0o600"


PAGES = [
    "/",
    "/violations",
    "/violations/rows",
    "/violations/1",
    "/cameras",
    "/compliance",
    "/compliance.csv",
    "/health",
]


def test_nothing_is_served_without_a_login(desk: Desk) -> None:
    spec = desk.api("/api/openapi.json").json()
    calls = [
        (m.upper(), p.replace("{violation_id}", "1").replace("{name}", "door"))
        for p, ops in spec["paths"].items()
        for m in ops
    ]
    assert {
        ("GET", "/api/violations"),
        ("GET", "/api/violations/1/snapshot.jpg"),
        ("GET", "/api/violations/1/face.jpg"),
        ("GET", "/api/cameras/door/frame.jpg"),
        ("POST", "/api/violations/1/review"),
        ("GET", "/api/events"),
    } <= set(calls)
    for method, path in [*calls, ("GET", "/api/openapi.json")]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            r = requests.request(
                method,
                desk.base + path,
                headers=headers,
                json={"verdict": "confirmed"} if method == "POST" else None,
                timeout=30,
                allow_redirects=False,
            )
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert "jpeg" not in r.headers.get("content-type", "")
    for path in PAGES:
        r = requests.get(desk.base + path, timeout=30, allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (path, r.status_code)
    for path in ["/violations/1/review", "/logout"]:
        r = requests.post(desk.base + path, data={"verdict": "confirmed"}, timeout=30, allow_redirects=False)
        assert r.status_code in (303, 401), (path, r.status_code)
    assert rows_in(desk.db_url, select(Review)) == []


def test_api_lists_the_violation_with_its_pictures(desk: Desk) -> None:
    first = desk.violations()[0]
    listed = desk.api("/api/violations", params={"camera": "door", "since": "2h"}).json()
    assert first.id in [v["id"] for v in listed["items"]] and listed["total"] >= 1
    item = next(v for v in listed["items"] if v["id"] == first.id)
    assert item["label"] == "without_mask" and item["review"] is None
    assert desk.api("/api/violations", params={"camera": "lobby"}).json() == {"total": 0, "items": []}
    later = datetime.now(UTC).replace(microsecond=0).isoformat()
    assert desk.api("/api/violations", params={"since": later}).json()["total"] == 0
    assert first.id in [v["id"] for v in desk.api("/api/violations", params={"until": later}).json()["items"]]
    desk.record_violation()
    newest = desk.api("/api/violations", params={"limit": 1}).json()
    second = desk.api("/api/violations", params={"limit": 1, "offset": 1}).json()
    assert newest["total"] >= 2 and len(newest["items"]) == 1
    assert newest["items"][0]["started_at"] >= second["items"][0]["started_at"]  # newest first, paged
    assert desk.api("/api/violations", params={"since": "yesterday-ish"}).status_code == 422
    for which in ("snapshot", "face"):
        r = desk.api(f"/api/violations/{first.id}/{which}.jpg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
        stored = first.snapshot_path if which == "snapshot" else first.crop_path
        assert r.content == Path(stored or "").read_bytes()
    frame = desk.api("/api/cameras/door/frame.jpg")
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
    assert desk.api("/api/cameras/lobby/frame.jpg").status_code == 404
    assert desk.api("/api/cameras/..%2Fetc/frame.jpg").status_code in (404, 422)
    one = desk.api(f"/api/violations/{first.id}").json()
    assert one["camera"] == "door" and {d["channel"] for d in one["deliveries"]} == {"mqtt", "webhook"}


def test_alerts_link_the_console_page_and_pictures(desk: Desk) -> None:
    first = desk.violations()[0]
    message = wait_for(
        lambda: [m for m in desk.watcher.on("door/violation") if m["id"] == first.id], 30, "the MQTT alert"
    )[0]
    assert message["url"] == f"{desk.base}/violations/{first.id}"
    snap = desk.api(message["snapshot_url"].removeprefix(desk.base))
    face = desk.api(message["face_url"].removeprefix(desk.base))
    assert snap.content == Path(first.snapshot_path or "").read_bytes()
    assert face.content == Path(first.crop_path or "").read_bytes()
    assert requests.get(message["snapshot_url"], timeout=30).status_code == 401  # the link alone shows no face

    from alerts.email import EmailNotifier
    from config.alerts import EmailSettings

    mail = EmailNotifier(EmailSettings(enabled=True, recipients=["guard@example.com"])).compose("violation", message)
    assert message["url"] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{message["url"]}"' in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_home_assistant_discovers_the_camera_and_gets_its_states(desk: Desk) -> None:
    discovery = MqttWatcher(desk.broker_port, topic="homeassistant/#")
    states = MqttWatcher(desk.broker_port, topic="maskwatch/door/#")
    try:
        configs = wait_for(
            lambda: (
                (found := {m.topic: m.body for m in discovery.messages if "maskwatch_door" in m.topic})
                and len(found) == 4
                and found
            ),
            30,
            "the four discovery configs",
        )
        assert {t.split("/")[1] for t in configs} == {"binary_sensor", "sensor", "image"}
        for cfg in configs.values():
            assert cfg["availability_topic"] == "maskwatch/availability"
            assert cfg["device"]["identifiers"] == ["maskwatch_door"] and cfg["unique_id"].startswith("maskwatch_door_")
        image = configs["homeassistant/image/maskwatch_door/snapshot/config"]
        assert image["image_topic"] == "maskwatch/door/snapshot" and image["content_type"] == "image/jpeg"
        vid = desk.record_violation()
        newest = next(v for v in desk.violations() if v.id == vid)
        picture = Path(newest.snapshot_path or "").read_bytes()
        wait_for(lambda: picture in states.on("door/snapshot"), 30, "the newest snapshot's JPEG")
        wait_for(lambda: "ON" in states.on("door/unmasked"), 30, "the unmasked-person sensor ON")
        today = len([v for v in desk.violations() if v.camera == "door"])
        wait_for(lambda: today in states.on("door/violations_today"), 30, f"violations today = {today}")
    finally:
        discovery.close()
        states.close()
    later = MqttWatcher(desk.broker_port, topic="#")
    try:  # retained: a Home Assistant that starts later gets the configs and the picture at once
        wait_for(
            lambda: {m.topic for m in later.messages if m.retain} >= {*configs, "maskwatch/door/snapshot"},
            15,
            "the retained configs and snapshot",
        )
        assert picture in [m.body for m in later.messages if m.retain and m.topic == "maskwatch/door/snapshot"]
        assert GONE_CONFIG not in {m.topic for m in later.messages}, "the config of a camera that left stays"
    finally:
        later.close()


def test_webhooks_are_signed_filtered_and_delivered_once_across_an_outage(desk: Desk) -> None:
    from storage.models import OutboxAlert

    hook = desk.hook
    wait_for(lambda: hook.refused >= 2, 60, "retries against the refusing receiver")
    waiting = rows_in(desk.db_url, select(OutboxAlert).where(OutboxAlert.channel == "webhook"))
    assert waiting and all(r.status == "pending" for r in waiting)
    assert any(r.attempts >= 1 and r.last_error == "webhook door-panel: HTTP 503" for r in waiting)
    hook.down = False  # the receiver is back
    desk.record_violation()
    door = {v.id for v in desk.violations() if v.camera == "door"}
    wait_for(lambda: set(hook.ids()) >= door, 60, "every door violation at the receiver")
    time.sleep(3)  # a second copy would come within a retry period (2 s here)
    assert sorted(hook.ids()) == sorted(set(hook.ids())), "a violation arrived twice"
    assert hook.bad_signatures == 0
    assert {m["webhook"] for m in hook.received} == {"door-panel"}  # lobby-only: no lobby violation
    assert all(m["_event"] == f"violation-{m['id']}" and m["url"].startswith(desk.base) for m in hook.received)
    rows = rows_in(desk.db_url, select(OutboxAlert).where(OutboxAlert.channel == "webhook"))
    assert {r.payload["webhook"] for r in rows} == {"door-panel"}
    delivered = [r.violation_id for r in rows if r.status == "delivered"]
    assert sorted(delivered) == sorted(set(delivered)) and set(delivered) >= door


def test_image_paths_outside_the_snapshots_folder_are_refused(desk: Desk) -> None:
    for path in (
        "/api/violations/..%2F..%2F..%2Fetc%2Fpasswd/snapshot.jpg",
        "/api/violations/1/..%2F..%2Fmw.db",
        "/api/violations/%2e%2e/face.jpg",
    ):
        r = desk.api(path)
        assert r.status_code in (404, 422) and r.content[:2] != b"\xff\xd8", (path, r.status_code)
    vid = desk.record_violation()
    from storage.db import Database

    db = Database(desk.db_url, run_migrations=False)
    try:
        for stored in ("/etc/passwd", f"{desk.workdir}/snapshots/../mw.db", f"{desk.workdir}/maskwatch.yaml"):
            with db.session.begin() as s:
                s.execute(update(Violation).where(Violation.id == vid).values(snapshot_path=stored))
            r = desk.api(f"/api/violations/{vid}/snapshot.jpg")
            assert r.status_code == 404 and b"root:" not in r.content and b"SQLite" not in r.content, stored
    finally:
        db.close()


def test_reviews_need_the_reviewer_role_and_the_csrf_token(desk: Desk) -> None:
    vid = desk.violations()[0].id
    url = f"{desk.base}/api/violations/{vid}/review"
    body = {"verdict": "false_positive", "reason": "other", "note": XSS}
    viewer = requests.post(url, json=body, headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}, timeout=30)
    assert viewer.status_code == 403
    assert (
        requests.post(
            url, json={"verdict": "false_positive"}, headers={"Authorization": f"Bearer {REVIEWER_TOKEN}"}, timeout=30
        ).status_code
        == 422
    )
    ok = requests.post(url, json=body, headers={"Authorization": f"Bearer {REVIEWER_TOKEN}"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["reviewer"] == "desk-bot"
    session = login(desk.base, "admin", desk.password)
    assert session.post(url, json={"verdict": "confirmed"}, timeout=30).status_code == 403  # no CSRF header
    page_form = session.post(
        f"{desk.base}/violations/{vid}/review", data={"verdict": "confirmed", "csrf": "forged"}, timeout=30
    )
    assert page_form.status_code == 403
    good = session.post(
        url, json={"verdict": "confirmed"}, headers={"X-CSRF-Token": csrf_of(session, desk.base)}, timeout=30
    )
    assert good.status_code == 200 and good.json()["reviewer"] == "admin"
    audit = rows_in(desk.db_url, select(Review).where(Review.violation_id == vid).order_by(Review.id))
    assert [(r.reviewer, r.verdict, r.reason) for r in audit] == [
        ("desk-bot", "false_positive", "other"),
        ("admin", "confirmed", None),
    ]
    page = session.get(f"{desk.base}/violations/{vid}", timeout=30).text
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert desk.api("/api/violations", params={"review": "confirmed"}).json()["total"] >= 1


def test_a_hostile_camera_name_is_shown_as_text(desk: Desk) -> None:
    desk.hostile_camera()
    session = login(desk.base, "admin", desk.password)
    for path in ("/cameras", "/violations"):
        page = session.get(desk.base + path, timeout=30)
        assert page.status_code == 200 and XSS not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_compliance_numbers_are_those_of_maskwatch_stats(desk: Desk) -> None:
    cli = json.loads(run_cli("stats", "--db", desk.db_url, "--format", "json", check=True).stdout)
    api = desk.api("/api/stats").json()
    key = ("camera", "with_mask", "without_mask", "incorrect_mask")
    assert (
        cli
        and [tuple(r[k] for k in key) for r in api if r["camera"] == "door"][: len(cli)]
        == [tuple(r[k] for k in key) for r in cli if r["camera"] == "door"][: len(api)]
    )
    session = login(desk.base, "admin", desk.password)
    text = session.get(f"{desk.base}/compliance.csv", params={"since": "7d", "period": "day"}, timeout=30).text
    day = [r for r in csv.DictReader(io.StringIO(text)) if r["camera"] == "door"]
    assert len(day) == 1 and int(day[0]["violations"]) == len([v for v in desk.violations() if v.camera == "door"])
    assert int(day[0]["without_mask"]) == sum(r["without_mask"] for r in cli if r["camera"] == "door")


def test_events_stream_tells_when_violations_open_and_close_and_cameras_change(desk: Desk) -> None:
    with requests.get(
        f"{desk.base}/api/events",
        params={"max_seconds": 30},
        headers={"Authorization": f"Bearer {VIEWER_TOKEN}"},
        stream=True,
        timeout=30,
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = (str(line) for line in stream.iter_lines(decode_unicode=True))
        assert next(lines).startswith("retry:")
        vid = desk.record_violation()
        _next_event(lines, "violation_opened", lambda d: d["id"] == vid)
        desk.close_violation(vid)
        _next_event(lines, "violation_closed", lambda d: d["id"] == vid)
        desk.hostile_camera()
        _next_event(lines, "camera_status", lambda d: d["name"] == XSS)  # JSON: the client escapes what it shows


def _next_event(lines: Iterator[str], kind: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Read on to an event of this kind whose data is the one wanted (the daemon's own events pass by;
    the stream ends by itself at max_seconds)."""
    previous = ""
    for line in lines:
        if line.startswith("data:") and previous == f"event: {kind}" and wanted(json.loads(line[5:])):
            return
        previous = line
    raise AssertionError(f"the stream ended without the {kind} event")


def test_the_api_survives_schemathesis(desk: Desk) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    headers = {"Authorization": f"Bearer {REVIEWER_TOKEN}"}
    schema = schemathesis.openapi.from_url(f"{desk.base}/api/openapi.json", headers=headers)
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path == "/api/events":
            continue  # an endless stream by design; the test above reads it
        tried.append(operation.label)

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            case.call_and_validate(base_url=desk.base, headers=headers, checks=[not_a_server_error], timeout=30)

        call()
    assert len(tried) >= 7, tried


def test_a_configured_viewer_on_the_standalone_console(desk: Desk) -> None:
    """`maskwatch console` on its own over the same database, with users made by hash-password."""
    made = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "console", "hash-password"],
        input="wallboard-pass\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    )
    digest = made.stdout.strip()
    assert digest.startswith("$argon2") and "wallboard-pass" not in digest
    short = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "console", "hash-password"],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert short.returncode == 2 and "8 characters" in short.stderr and "Traceback" not in short.stderr
    tokens = run_cli("console", "hash-token", check=True).stdout
    token = re.search(r"token \(.*\): (\S+)", tokens)
    token_hash = re.search(r"token_hash .*: (sha256:[0-9a-f]{64})", tokens)
    assert token and token_hash and hash_token(token.group(1)) == token_hash.group(1)
    port = free_port()
    cfg = desk.workdir / "console-only.yaml"
    cfg.write_text(
        desk.config.read_text().split("console:")[0]
        + f"console:\n  port: {port}\n  users:\n    - name: wall\n      password_hash: '{digest}'\n      role: viewer\n"
        f"  api_tokens:\n    - {{name: panel, token_hash: '{token_hash.group(1)}'}}\n"
    )
    alone = desk.workdir / "standalone"
    alone.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "console", "--config", str(cfg)],
        cwd=alone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 60, "the standalone console")
        session = login(base, "wall", "wallboard-pass")
        vid = desk.violations()[0].id
        page = session.get(f"{base}/violations/{vid}", timeout=30).text
        assert "You can read but not review" in page and 'action="/violations/' not in page
        csrf = csrf_of(session, base)
        r = session.post(f"{base}/violations/{vid}/review", data={"verdict": "confirmed", "csrf": csrf}, timeout=30)
        assert r.status_code == 403
        assert session.get(f"{base}/api/violations/{vid}/face.jpg", timeout=30).content[:2] == b"\xff\xd8"
        assert not (alone / "var").exists()  # configured users: no generated admin
        health = requests.get(f"{base}/api/health", headers={"Authorization": f"Bearer {token.group(1)}"}, timeout=30)
        assert health.status_code == 200 and health.json()["daemon"] is None  # on its own: no daemon in-process
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert "wallboard-pass" not in out


def _answers(base: str, verify: str | bool = True) -> bool:
    try:
        return requests.get(f"{base}/login", timeout=5, verify=verify).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_console_over_tls_sets_secure_cookies_and_a_taken_port_is_one_line(desk: Desk) -> None:
    from bench.loopback.tls import loopback_pki

    pki = loopback_pki(desk.workdir / "pki")
    port = free_port()
    cfg = desk.workdir / "console-tls.yaml"
    common = desk.config.read_text().split("console:")[0]
    cfg.write_text(
        common + f"console:\n  port: {port}\n  tls_cert: {pki.cert}\n  tls_key: {pki.key}\n"
        f"  first_user_file: {desk.workdir}/tls-admin.json\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "console", "--config", str(cfg)],
        cwd=desk.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    base = f"https://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base, str(pki.ca)), 60, "the https console")
        taken = run_cli("console", "--config", str(cfg))  # same port, second time
        assert taken.returncode == 2 and "Traceback" not in taken.stderr
        assert taken.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    password = re.search(r"with password (\S+) ", out)
    assert password and proc.returncode == 0
    cfg.write_text(cfg.read_text() + "  session_hours: 0.002\n")  # 7.2 s: to see a session end
    proc = subprocess.Popen(  # again, now that the first user exists: no new password, the old one works
        [sys.executable, "-m", "daemon.cli", "console", "--config", str(cfg)],
        cwd=desk.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        wait_for(lambda: _answers(base, str(pki.ca)), 60, "the https console, restarted")
        s = requests.Session()  # verify= on each call: a Session's own verify loses to $REQUESTS_CA_BUNDLE
        form = s.get(f"{base}/login", timeout=30, verify=str(pki.ca))
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        r = s.post(
            f"{base}/login",
            data={"name": "admin", "password": password.group(1), "csrf": token.group(1)},
            allow_redirects=False,
            timeout=30,
            verify=str(pki.ca),
        )
        logged_in = time.monotonic()
        cookie = r.headers["set-cookie"]
        assert r.status_code == 303 and "mw_session=" in cookie
        assert all(flag in cookie.lower() for flag in ("secure", "httponly", "samesite=strict"))
        page = s.get(f"{base}/violations", timeout=30, verify=str(pki.ca), allow_redirects=False)
        assert page.status_code == 200
        time.sleep(max(0.0, 8.0 - (time.monotonic() - logged_in)))
        s.cookies.set("mw_session", r.cookies["mw_session"])  # as a browser that ignored Max-Age would send it
        late = s.get(f"{base}/violations", timeout=30, verify=str(pki.ca), allow_redirects=False)
        assert late.status_code == 303 and late.headers["location"].startswith("/login"), "the session outlived itself"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "with password" not in out


def test_the_desk_in_a_real_browser(desk: Desk, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    first = desk.violations()[0]
    desk.hostile_camera()
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})

            def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(f"{desk.base}/violations")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.screenshot(path=str(shots / "console-login.png"))
            page.fill("input[name=name]", "admin")
            page.fill("input[name=password]", desk.password)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/violations$"))
            row = page.locator(f"tr[data-id='{first.id}']")
            expect(row).to_contain_text("door")
            thumb = row.locator("img.thumb")
            expect(thumb).to_be_visible()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
            page.screenshot(path=str(shots / "console-violations.png"))

            row.locator("a").first.click()
            expect(page).to_have_url(re.compile(rf"/violations/{first.id}$"))
            snapshot = page.locator("img.snapshot")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=snapshot.element_handle())
            page.check("input[value=false_positive]")
            page.select_option("select[name=reason]", "masked")
            page.fill("input[name=note]", "a scarf, not a mask")
            page.click("form.review button[type=submit]")
            expect(page.locator("h1 .badge")).to_have_text("false positive")
            expect(page.locator("table.audit tbody tr").first).to_contain_text("admin")
            expect(page.locator("table.audit tbody tr").first).to_contain_text("masked")
            page.screenshot(path=str(shots / "console-violation.png"), full_page=True)
            latest = rows_in(desk.db_url, select(Review).where(Review.violation_id == first.id).order_by(Review.id))
            assert (latest[-1].verdict, latest[-1].reason, latest[-1].reviewer) == ("false_positive", "masked", "admin")

            page.goto(f"{desk.base}/violations")
            page.select_option("select[name=camera]", "door")
            page.click("form.filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"camera=door"))
            cams = page.locator("#rows tr[data-id] td:nth-child(3)").all_inner_texts()
            assert cams and set(cams) == {"door"}

            expect(page.locator("#live")).to_be_visible(timeout=15000)  # the event stream is open
            page.evaluate("window.notReloaded = true")
            vid = desk.record_violation()
            expect(page.locator(f"tr[data-id='{vid}']")).to_be_visible(timeout=20000)
            assert page.evaluate("window.notReloaded") is True

            page.click("nav >> text=Cameras")
            expect(page.locator("section.camera h2", has_text=re.compile(r"^door "))).to_contain_text("online")
            expect(page.locator("section.camera h2", has_text="onerror")).to_contain_text(XSS)  # as text
            live = page.locator("img.live-frame[alt='last frame of door']")
            page.wait_for_function("img => img.complete && img.naturalWidth == 320", arg=live.element_handle())
            first_src = live.get_attribute("src")
            expect(live).not_to_have_attribute("src", first_src or "", timeout=15000)  # refreshed in place
            page.screenshot(path=str(shots / "console-cameras.png"), full_page=True)

            page.click("nav >> text=Compliance")
            chart = page.locator("section.chart-box svg.chart").first
            expect(chart).to_be_visible()
            assert chart.locator("rect.bar").count() + chart.locator("circle.rate-dot").count() > 0
            page.screenshot(path=str(shots / "console-compliance.png"), full_page=True)

            page.click("nav >> text=Health")
            expect(page.locator("main")).to_contain_text("face_detector.onnx")
            page.screenshot(path=str(shots / "console-health.png"), full_page=True)

            page.click("nav >> text=Log out")
            expect(page).to_have_url(re.compile(r"/login$"))
            page.goto(f"{desk.base}/health")
            expect(page).to_have_url(re.compile(r"/login\?next="))
        finally:
            browser.close()
    assert dialogs == [], "a script from the data ran"


@pytest.mark.faults
def test_with_redis_roles_the_events_process_serves_the_console(tmp_path: Path, redis: Server) -> None:
    """`maskwatch run` over Redis supervises reader, infer and events; events serves the desk, and an
    extra events process (--no-dispatch, a camera partition) does not try to serve it twice."""
    port = free_port()
    cfg = tmp_path / "maskwatch.yaml"
    cfg.write_text(
        f"cameras:\n  - name: door\n    url: {VIDEOS / 'yash42828_test_no_mask.mp4'}\n    loop: true\n"
        f"transport:\n  type: redis\n  redis_url: redis://127.0.0.1:{redis.port}/0\n"
        f"database:\n  url: sqlite:///{tmp_path}/mw.db\nsnapshots:\n  dir: {tmp_path}/snaps\nmetrics:\n  enabled: false\n"
        f"console:\n  enabled: true\n  port: {port}\n"
        f"  api_tokens:\n    - {{name: t, token_hash: '{hash_token(VIEWER_TOKEN)}'}}\n"
    )
    run = start_daemon(cfg, tmp_path)
    extra = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "events", "--config", str(cfg), "--no-dispatch", "--camera", "door"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    try:
        wait_for(lambda: _answers(base), 90, "the console of the events role")
        listed = wait_for(
            lambda: requests.get(f"{base}/api/violations", headers=auth, timeout=30).json()["items"],
            150,
            "the clip's violation through the roles",
        )
        face = requests.get(f"{base}/api/violations/{listed[0]['id']}/face.jpg", headers=auth, timeout=30)
        assert face.content[:2] == b"\xff\xd8"
        health = requests.get(f"{base}/api/health", headers=auth, timeout=30).json()
        assert health["transport"] == "redis" and health["daemon"] is None
        assert requests.get(f"{base}/api/cameras/door/frame.jpg", headers=auth, timeout=30).status_code == 404
    finally:
        extra.send_signal(signal.SIGTERM)
        extra_out, _ = extra.communicate(timeout=60)
        run.send_signal(signal.SIGTERM)
        code = run.wait(90)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0 and extra.returncode == 0, log[-2000:] + extra_out[-2000:]
    assert log.count("console on ") == 1 and "console on" not in extra_out and "cannot listen" not in extra_out


def _review(desk: Desk, vid: int, verdict: str, reason: str | None = None) -> None:
    r = requests.post(
        f"{desk.base}/api/violations/{vid}/review",
        json={"verdict": verdict, "reason": reason},
        headers={"Authorization": f"Bearer {REVIEWER_TOKEN}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


def test_reviews_export_as_labelled_crops(desk: Desk, tmp_path: Path) -> None:
    first = desk.violations()[0].id
    _review(desk, first, "false_positive", "masked")
    confirmed, not_face, other = (desk.record_violation() for _ in range(3))
    _review(desk, confirmed, "confirmed")
    _review(desk, not_face, "false_positive", "not_a_face")
    _review(desk, other, "false_positive", "other")
    out = tmp_path / "reviewed"
    res = run_cli("export", "reviewed", str(out), "--db", desk.db_url, check=True)
    assert "1 with_mask" in res.stdout and "1 without_mask" in res.stdout and "1 not_a_face" in res.stdout, res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    files = {m["violation_id"]: m["file"] for m in manifest["items"]}
    assert files[first] == f"with_mask/{first}.jpg" and files[confirmed] == f"without_mask/{confirmed}.jpg"
    assert files[not_face] == f"not_a_face/{not_face}.jpg" and other not in files
    assert (out / files[first]).read_bytes()[:2] == b"\xff\xd8"
    _review(desk, first, "confirmed")  # changed mind: the face moves, it is not in both folders
    run_cli("export", "reviewed", str(out), "--db", desk.db_url, check=True)
    assert (out / "without_mask" / f"{first}.jpg").exists() and not (out / "with_mask" / f"{first}.jpg").exists()
    _review(desk, first, "false_positive", "masked")


@pytest.mark.slow
def test_train_mask_learns_from_the_reviewed_crops(desk: Desk, tmp_path: Path) -> None:
    """One epoch of ours on a few images per split plus the reviewed crops (TensorFlow: a minute or two)."""
    extra = tmp_path / "reviewed"
    _review(desk, desk.violations()[0].id, "confirmed")
    run_cli("export", "reviewed", str(extra), "--db", desk.db_url, check=True)
    manifest = json.loads((extra / "manifest.json").read_text())
    trainable = [m for m in manifest["items"] if m["label"] in ("with_mask", "without_mask", "incorrect_mask")]
    assert trainable
    quick = ["--epochs", "1", "--limit", "12", "--out", str(tmp_path / "model")]
    res = run_cli("train", "mask", *quick, "--extra", str(extra), timeout=900, check=True)
    assert f"adding {len(trainable)} reviewed crops" in res.stdout  # not_a_face is no class
    metrics = json.loads((tmp_path / "model" / "mask" / "maskwatch_metrics.json").read_text())
    assert metrics["extra_images"] == len(trainable) and metrics["extra_dirs"] == [str(extra)]
    bad = run_cli("train", "mask", "--arch", "thesis", *quick, "--extra", str(extra))
    assert bad.returncode == 2 and "--extra is for ours" in bad.stderr


def test_logins_are_rate_limited(desk: Desk) -> None:
    """Last: it locks this address out of the log-in for the window (20 s here)."""
    form = requests.Session()
    statuses = []
    for _ in range(6):
        token = re.search(r'name="csrf" value="([^"]+)"', form.get(f"{desk.base}/login", timeout=30).text)
        assert token
        r = form.post(
            f"{desk.base}/login",
            data={"name": "admin", "password": "guess", "csrf": token.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        statuses.append(r.status_code)
    assert statuses == [303] * 5 + [429]
    token = re.search(r'name="csrf" value="([^"]+)"', form.get(f"{desk.base}/login", timeout=30).text)
    assert token
    right = form.post(
        f"{desk.base}/login",
        data={"name": "admin", "password": desk.password, "csrf": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 429 and "mw_session" not in right.headers.get("set-cookie", "")
