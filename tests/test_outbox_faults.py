"""The outbox under hostile input and broken parts: one poison alert fails alone, a hung broker
doubles nothing, a read-only snapshot folder loses no violation (issue 22, items 2 and 3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from alerts.base import Notifier
from alerts.dispatcher import Dispatcher, dead_letters
from alerts.email import EmailNotifier
from alerts.mqtt import MqttNotifier
from bench.loopback.mqtt_watch import MqttWatcher
from config.alerts import DeliverySettings, EmailSettings, MqttSettings
from core.violations import OpenedViolation
from models.shared_data import REPO_ROOT
from storage.db import Database
from storage.models import OutboxAlert, Violation
from storage.recorder import Recorder
from storage.retention import purge_older_than
from storage.snapshots import SnapshotStore
from tests.conftest import run_cli, wait_for


def _violation(camera: str, track: int) -> OpenedViolation:
    image = np.full((240, 320, 3), 80, dtype=np.uint8)
    return OpenedViolation(
        camera, track, track, datetime.now(UTC), "without_mask", 0.93, image, (100.0, 60.0, 160.0, 130.0)
    )


@pytest.mark.faults
def test_a_broker_hung_for_20_s_gets_each_violation_exactly_once(tmp_path: Path, broker) -> None:
    """SIGSTOP the real Mosquitto mid-delivery: the publishes that time out are not sent again.

    Before the fix, violation 1 reached the subscriber 3 times and violation 2 twice.
    """
    watcher = MqttWatcher(broker.port)
    mqtt = MqttSettings(enabled=True, port=broker.port, client_id=f"mw-hung-{time.time()}")
    db = Database(f"sqlite:///{tmp_path}/mw.db")
    recorder = Recorder(db, SnapshotStore(tmp_path / "snaps"), mqtt, EmailSettings())
    notifier = MqttNotifier(mqtt)  # the daemon's own publish timeout (5 s)
    dispatcher = Dispatcher(db, [notifier], DeliverySettings(retry_initial_seconds=0.5, retry_max_seconds=2))
    stop = threading.Event()
    loop = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    loop.start()
    try:
        first = recorder.opened(_violation("gate", 1))
        wait_for(lambda: watcher.on("gate/violation"), 15, "the first violation on the broker")
        broker.pause()
        try:
            hung = [recorder.opened(_violation("gate", t)) for t in (2, 3)]
            time.sleep(20)
        finally:
            broker.resume()
        wait_for(lambda: dispatcher.pending() == 0, 30, "every alert acknowledged")
        time.sleep(3)  # anything sent twice would arrive by now
        got = sorted(m["id"] for m in watcher.on("gate/violation"))
        assert got == sorted(v for v in [first, *hung] if v is not None), f"each violation exactly once, got {got}"
    finally:
        stop.set()
        loop.join(10)
        notifier.close()
        watcher.close()
        db.close()


class Pager(Notifier):
    """A third, in-process channel whose code has a bug: it raises ``RuntimeError`` on one payload."""

    channel = "pager"

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def deliver(self, key: int, kind: str, payload: dict[str, Any]) -> bool:
        if payload.get("camera") != "gate":
            raise RuntimeError(f"pager firmware cannot spell {payload.get('camera')!r}")
        self.got.append(payload)
        return True


def _add_alert(db: Database, channel: str, payload: dict[str, Any], violation_id: int | None = None) -> int:
    now = datetime.now(UTC)
    row = OutboxAlert(
        violation_id=violation_id,
        channel=channel,
        kind="violation",
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    with db.session.begin() as session:
        session.add(row)
    return row.id


def _failed_count(channel: str) -> float:
    return REGISTRY.get_sample_value("maskwatch_alerts_failed_total", {"channel": channel}) or 0.0


@pytest.mark.faults
def test_a_poison_alert_of_each_kind_fails_alone(
    tmp_path: Path, broker, smtp, caplog: pytest.LogCaptureFixture
) -> None:
    """A camera named ``"yash\\n"`` (bad MQTT topic, bad Subject), a recipient with a newline
    (bad To), a notifier raising ``RuntimeError``: each fails alone, the next alert of every
    channel is delivered in the same run; after max attempts they are dead letters that
    ``maskwatch alerts`` lists and requeues."""
    watcher = MqttWatcher(broker.port)
    url = f"sqlite:///{tmp_path}/mw.db"
    db = Database(url)
    mqtt = MqttSettings(enabled=True, port=broker.port, client_id=f"mw-poison-{time.time()}")
    email = EmailSettings(enabled=True, port=smtp.port, security="none", recipients=["guard@example.com"])
    recorder = Recorder(db, SnapshotStore(tmp_path / "snaps"), mqtt, email)
    poison = recorder.opened(_violation("yash\n", 1))  # one MQTT and one email alert, both poison
    good = recorder.opened(_violation("gate", 2))
    assert poison is not None and good is not None
    with db.session() as s:
        gate = next(a.payload for a in s.scalars(select(OutboxAlert).where(OutboxAlert.violation_id == good)))
    _add_alert(db, "email", {**gate, "to": "guard@example.com\nBcc: everyone@example.com"}, good)
    _add_alert(db, "pager", {**gate, "camera": "yash\n"}, poison)
    _add_alert(db, "pager", gate, good)
    before = {c: _failed_count(c) for c in ("mqtt", "email", "pager")}
    pager = Pager()
    notifiers = [MqttNotifier(mqtt, publish_timeout=2.0), EmailNotifier(email), pager]
    settings = DeliverySettings(retry_initial_seconds=0.1, retry_max_seconds=0.2, poll_seconds=0.1, max_attempts=3)
    dispatcher = Dispatcher(db, notifiers, settings)
    try:
        assert dispatcher.dispatch_due() == 3, "the good alert of every channel goes out in the first run"
        wait_for(lambda: watcher.on("gate/violation"), 5, "the good MQTT alert")
        assert [m["id"] for m in watcher.on("gate/violation")] == [good]
        assert [m["To"] for m in smtp.inbox.messages] == ["guard@example.com"]
        assert [p["id"] for p in pager.got] == [good]

        def dead() -> list[OutboxAlert]:
            dispatcher.dispatch_due()
            rows = dead_letters(db)
            return rows if len(rows) == 4 else []

        failed = wait_for(dead, 10, "four dead letters", interval=0.15)
        assert {(a.channel, a.attempts) for a in failed} == {("mqtt", 3), ("email", 3), ("pager", 3)}
        errors = " | ".join(a.last_error or "" for a in failed)
        assert "'\\n'" in errors and "linefeed" in errors and "RuntimeError: pager firmware" in errors
        assert {c: _failed_count(c) - before[c] for c in before} == {"mqtt": 1, "email": 2, "pager": 1}
        assert dispatcher.pending() == 0
        assert "MQTT disconnected" not in caplog.text, "the broker never dropped the connection"

        listed = json.loads(run_cli("alerts", "--failed", "--db", url, "--format", "json", check=True).stdout)
        assert sorted(r["id"] for r in listed) == sorted(a.id for a in failed)
        assert {r["camera"] for r in listed} == {"yash\n", "gate"}
        table = run_cli("alerts", "--failed", "--db", url, check=True).stdout
        assert table.splitlines()[0].split()[:3] == ["id", "channel", "kind"] and len(table.splitlines()) == 5
        assert "yash\\n " in table, "control characters are shown escaped, never sent to the terminal"

        one = failed[0].id
        out = run_cli("alerts", "--retry", str(one), "--db", url, check=True)
        assert out.stdout.strip() == "requeued 1 alert(s)"
        with db.session() as s:
            row = s.get(OutboxAlert, one)
            assert row is not None and row.status == "pending" and row.attempts == 0
        assert run_cli("alerts", "--retry", "all", "--db", url, check=True).stdout.strip() == "requeued 3 alert(s)"
        assert dead_letters(db) == [] and dispatcher.pending() == 4
        for bad in ("99999", "seven"):
            out = run_cli("alerts", "--retry", bad, "--db", url)
            assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        # fixed at the source (here: by hand), a requeued alert is delivered like a new one
        with db.session.begin() as s:
            row = s.get(OutboxAlert, one)
            assert row is not None
            row.payload = {**row.payload, "camera": "gate", "to": "guard@example.com"}
        wait_for(lambda: dispatcher.dispatch_due() == 1, 5, "the requeued alert delivered")
        assert dispatcher.flush(timeout=1.0) == 3, "flush at shutdown ends without a traceback"
    finally:
        for n in notifiers:
            n.close()
        watcher.close()
        db.close()


# Runs as a user without CAP_DAC_OVERRIDE: opens three violations into read-only folders,
# waits for the test to make them writable, then closes them.
_SNAPSHOT_CHILD = """
import json, sys
from datetime import UTC, datetime, timedelta
import numpy as np
from prometheus_client import REGISTRY
from config.alerts import EmailSettings, MqttSettings
from storage.db import Database
from storage.recorder import Recorder
from storage.snapshots import SnapshotStore
from core.violations import OpenedViolation

url, root, started = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
recorder = Recorder(Database(url), SnapshotStore(root), MqttSettings(enabled=True), EmailSettings())
image = np.full((240, 320, 3), 80, dtype=np.uint8)
opened = []
for n, camera in enumerate(["gate", "gate", "lobby"], start=1):
    at = started + timedelta(seconds=n)
    v = OpenedViolation(camera, n, n, at, "without_mask", 0.9, image, (100.0, 60.0, 160.0, 130.0))
    opened.append((recorder.opened(v), at))
errors = {c: REGISTRY.get_sample_value("maskwatch_snapshot_errors_total", {"camera": c}) for c in ("gate", "lobby")}
print(json.dumps({"ids": [vid for vid, _ in opened], "errors": errors}), flush=True)
sys.stdin.readline()
for vid, at in opened:
    recorder.closed(vid, at + timedelta(seconds=5), 0.95, None)
print("closed", flush=True)
"""


def test_a_read_only_snapshot_folder_loses_no_violation(tmp_path: Path, broker) -> None:
    """Read-only snapshots (an existing day folder, and the root where a new camera's folder
    would go): rows and alerts are written with ``snapshot_error`` and no path; once the
    folders are writable again, the close writes the files and fills the paths."""
    url = f"sqlite:///{tmp_path}/mw.db"
    Database(url).close()
    root = tmp_path / "snaps"
    started = datetime.now(UTC).replace(microsecond=0)
    day = SnapshotStore(root).paths("gate", started, 1)[0].parent
    day.mkdir(parents=True)
    for folder in (day, day.parent, root):
        folder.chmod(0o555)
    # root ignores file modes: drop the capabilities that let it (as setpriv does for a service)
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    child = subprocess.Popen(
        [
            *(drop if os.geteuid() == 0 else []),
            sys.executable,
            "-c",
            _SNAPSHOT_CHILD,
            url,
            str(root),
            started.isoformat(),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None and child.stderr is not None
        report = json.loads(child.stdout.readline() or "{}")
        assert report, f"the child died: {child.stderr.read() if child.poll() is not None else ''}"
        ids = report["ids"]
        assert len(ids) == 3 and None not in ids and report["errors"] == {"gate": 2.0, "lobby": 1.0}
        db = Database(url, run_migrations=False)
        with db.session() as s:
            rows = s.scalars(select(Violation).order_by(Violation.id)).all()
            assert [v.id for v in rows] == ids
            assert all(v.snapshot_path is None and v.crop_path is None for v in rows), "no dangling path"
            assert all("Permission denied" in (v.snapshot_error or "") for v in rows)
            alerts = s.scalars(select(OutboxAlert).where(OutboxAlert.kind == "violation")).all()
            assert sorted(a.violation_id or 0 for a in alerts) == ids and all(a.status == "pending" for a in alerts)
        assert not list(root.rglob("*.jpg*"))
        # the alerts go out without a snapshot
        watcher = MqttWatcher(broker.port)
        mqtt = MqttSettings(enabled=True, port=broker.port, client_id=f"mw-ro-{time.time()}")
        notifier = MqttNotifier(mqtt)
        dispatcher = Dispatcher(db, [notifier], DeliverySettings())
        wait_for(lambda: (dispatcher.dispatch_due() or True) and dispatcher.pending() == 0, 15, "the alerts")
        wait_for(lambda: len(watcher.on("/violation")) == 3, 5, "three MQTT alerts")
        assert all(m["snapshot"] is None and m["face"] is None for m in watcher.on("/violation"))
        notifier.close()
        watcher.close()

        for folder in (root, day.parent, day):
            folder.chmod(0o755)
        out, err = child.communicate("writable again\n", timeout=30)
        assert child.returncode == 0 and out.strip() == "closed", err
        # one log line per folder and minute, however many failed in it
        assert err.count("cannot write in") == 2 and err.count(f"cannot write in {day}:") == 1, err
        with db.session() as s:
            rows = s.scalars(select(Violation).order_by(Violation.id)).all()
        assert all(v.snapshot_error is None for v in rows)
        for v in rows:
            for path in (v.snapshot_path, v.crop_path):
                assert path and cv2.imread(path) is not None, path
        assert {Path(v.snapshot_path or "").parent.parent.name for v in rows} == {"gate", "lobby"}
        db.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for folder in (root, day.parent, day):
            if folder.exists():
                folder.chmod(0o755)


def test_retention_removes_orphan_snapshots_but_never_a_referenced_or_a_fresh_one(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/mw.db")
    store = SnapshotStore(tmp_path / "snaps")
    recorder = Recorder(db, store, MqttSettings(), EmailSettings())
    vid = recorder.opened(_violation("gate", 1))
    with db.session() as s:
        row = s.get(Violation, vid)
        assert row is not None and row.snapshot_path and row.crop_path
        kept = [Path(row.snapshot_path), Path(row.crop_path)]
    folder = kept[0].parent
    orphans = [folder / "120000-000-t9.jpg", folder / "120000-000-t9-face.jpg", folder / "120001-000-t8.jpg.part"]
    fresh = folder / "120002-000-t7.jpg"
    other = folder / "notes.txt"
    for f in [*orphans, fresh, other]:
        f.write_bytes(b"\xff\xd8")
    hour_ago = time.time() - 2 * 3600
    for f in [*kept, *orphans, other]:
        os.utime(f, (hour_ago, hour_ago))
    assert purge_older_than(db, days=30, snapshots_dir=tmp_path / "snaps") == 0
    assert all(f.exists() for f in [*kept, fresh, other]), "referenced, fresh and foreign files stay"
    assert not any(f.exists() for f in orphans)
    db.close()
