"""The outbox against a real Mosquitto and a real SMTP inbox: outages delay, never lose or double."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from alerts.digest import queue_digest
from alerts.dispatcher import Dispatcher
from alerts.email import EmailNotifier
from alerts.mqtt import MqttNotifier
from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import mosquitto
from bench.loopback.tls import loopback_pki
from config.alerts import DeliverySettings, EmailSettings, MqttSettings
from config.loader import parse_settings
from core.violations import OpenedViolation
from daemon.wiring import build_notifiers, build_recorder
from storage.db import Database
from storage.models import OutboxAlert
from storage.recorder import Recorder
from storage.snapshots import SnapshotStore
from tests.conftest import wait_for

FAST_RETRIES = DeliverySettings(retry_initial_seconds=0.2, retry_max_seconds=1.0, poll_seconds=0.1)


def _violation(track: int, frame: int = 1) -> OpenedViolation:
    image = np.full((240, 320, 3), 80, dtype=np.uint8)
    return OpenedViolation(
        "gate", track, frame, datetime.now(UTC), "without_mask", 0.93, image, (100.0, 60.0, 160.0, 130.0)
    )


def _setup(tmp_path: Path, broker_port: int, smtp_port: int, db_url: str | None = None):
    mqtt = MqttSettings(enabled=True, port=broker_port, client_id=f"mw-{time.time()}")
    email = EmailSettings(enabled=True, port=smtp_port, security="none", recipients=["guard@example.com"])
    db = Database(db_url or f"sqlite:///{tmp_path}/mw.db")
    recorder = Recorder(db, SnapshotStore(tmp_path / "snaps"), mqtt, email)
    notifiers = [MqttNotifier(mqtt, publish_timeout=1.0), EmailNotifier(email)]
    return db, recorder, Dispatcher(db, notifiers, FAST_RETRIES), notifiers


@pytest.mark.faults
def test_violation_reaches_mqtt_and_email_once(tmp_path: Path, broker, smtp) -> None:
    watcher = MqttWatcher(broker.port)
    db, recorder, dispatcher, notifiers = _setup(tmp_path, broker.port, smtp.port)
    vid = recorder.opened(_violation(7))
    assert vid is not None
    assert recorder.opened(_violation(7)) == vid, "the same origin is the same violation, not a second one"
    wait_for(lambda: dispatcher.dispatch_due() or dispatcher.pending() == 0, 10, "delivery")
    wait_for(lambda: watcher.on("gate/violation"), 5, "the MQTT message")
    msgs = watcher.on("gate/violation")
    assert len(msgs) == 1 and msgs[0]["id"] == vid and msgs[0]["label"] == "without_mask"
    assert Path(msgs[0]["snapshot"]).exists()
    assert len(smtp.inbox.messages) == 1
    mail = smtp.inbox.messages[0]
    assert mail["To"] == "guard@example.com" and "gate" in mail["Subject"]
    jpegs = [p for p in mail.walk() if p.get_content_type() == "image/jpeg"]
    assert jpegs and jpegs[0].get_payload(decode=True)[:2] == b"\xff\xd8"
    assert "online" in watcher.on("availability")
    for n in notifiers:
        n.close()
    watcher.close()


@pytest.mark.faults
def test_broker_outage_delays_but_loses_nothing(tmp_path: Path, broker, smtp) -> None:
    db, recorder, dispatcher, notifiers = _setup(tmp_path, broker.port, smtp.port)
    wait_for(lambda: dispatcher.dispatch_due() >= 0 and notifiers[0]._connected.is_set(), 10, "MQTT connect")
    broker.stop()
    ids = [recorder.opened(_violation(t, frame=t)) for t in (1, 2, 3)]
    for _ in range(5):
        dispatcher.dispatch_due()
        time.sleep(0.3)
    with db.session() as s:
        pending = s.scalars(
            select(OutboxAlert).where(OutboxAlert.channel == "mqtt", OutboxAlert.status == "pending")
        ).all()
        assert len(pending) == 3 and any(p.last_error for p in pending)
        assert all(p.attempts == 0 for p in pending), "an outage must not use up an alert's attempts"
    broker.start()
    watcher = MqttWatcher(broker.port)
    time.sleep(0.5)
    wait_for(lambda: (dispatcher.dispatch_due() or True) and dispatcher.pending() == 0, 40, "every alert delivered")
    wait_for(lambda: len(watcher.on("gate/violation")) >= 3, 5, "three MQTT messages")
    time.sleep(1)
    got = sorted(m["id"] for m in watcher.on("gate/violation"))
    assert got == sorted(ids), "each violation exactly once"
    assert len(smtp.inbox.messages) == 3
    for n in notifiers:
        n.close()
    watcher.close()


@pytest.mark.faults
def test_smtp_refusing_is_retried_later(tmp_path: Path, broker, smtp) -> None:
    db, recorder, dispatcher, notifiers = _setup(tmp_path, broker.port, smtp.port)
    smtp.inbox.refuse = True
    recorder.opened(_violation(5))
    for _ in range(4):
        dispatcher.dispatch_due()
        time.sleep(0.3)
    assert smtp.inbox.messages == []
    with db.session() as s:
        mail = s.scalars(select(OutboxAlert).where(OutboxAlert.channel == "email")).one()
        # 451 is "try again later" (RFC 5321 4xx): it defers, it does not use up delivery.max_attempts
        assert mail.status == "pending" and mail.attempts == 0 and "451" in (mail.last_error or "")
    smtp.inbox.refuse = False
    wait_for(lambda: (dispatcher.dispatch_due() or True) and len(smtp.inbox.messages) == 1, 20, "the retried mail")
    time.sleep(0.5)
    dispatcher.dispatch_due()
    assert len(smtp.inbox.messages) == 1
    for n in notifiers:
        n.close()


def test_email_cooldown_skips_repeats(tmp_path: Path, smtp) -> None:
    email = EmailSettings(
        enabled=True, port=smtp.port, security="none", recipients=["a@x", "b@x"], cooldown_seconds=600
    )
    db = Database(f"sqlite:///{tmp_path}/mw.db")
    recorder = Recorder(db, SnapshotStore(tmp_path / "snaps"), MqttSettings(), email)
    recorder.opened(_violation(1, 1))
    recorder.opened(_violation(2, 2))
    with db.session() as s:
        rows = s.scalars(select(OutboxAlert).order_by(OutboxAlert.id)).all()
    assert [(r.payload["to"], r.status) for r in rows] == [
        ("a@x", "pending"),
        ("b@x", "pending"),
        ("a@x", "skipped"),
        ("b@x", "skipped"),
    ]


def test_daily_digest_is_mailed(tmp_path: Path, smtp) -> None:
    email = EmailSettings(enabled=True, port=smtp.port, security="none", recipients=["boss@x"])
    db = Database(f"sqlite:///{tmp_path}/mw.db")
    recorder = Recorder(db, SnapshotStore(tmp_path / "snaps"), MqttSettings(), email)
    now = datetime.now(UTC)
    for label in ("with_mask", "with_mask", "with_mask", "without_mask"):
        recorder.person_seen("gate", now, label)
    recorder.opened(_violation(9))
    queue_digest(db)
    dispatcher = Dispatcher(db, [EmailNotifier(email)], DeliverySettings())
    dispatcher.dispatch_due()
    subjects = [m["Subject"] for m in smtp.inbox.messages]
    assert any("digest" in s for s in subjects)
    digest = next(m for m in smtp.inbox.messages if "digest" in m["Subject"])
    text = next(p for p in digest.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "gate" in text and "75%" in text


@pytest.mark.faults
def test_a_tls_broker_with_a_login_gets_alerts_and_an_untrusted_one_gets_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A site broker: TLS under the site's own CA and a login whose password comes from the environment."""
    pki = loopback_pki(tmp_path / "pki")
    broker = mosquitto(tmp_path, tls=pki, users={"maskwatch": "pw-from-env-42"}).start()
    monkeypatch.setenv("MW_MQTT_PASSWORD", "pw-from-env-42")

    def wired(name: str, ca_line: str):
        settings = parse_settings(
            f"""
cameras: []
snapshots: {{dir: {tmp_path / name}}}
mqtt:
  enabled: true
  port: {broker.port}
  client_id: mw-{name}
  tls: true
  {ca_line}
  username: maskwatch
  password: ${{MW_MQTT_PASSWORD}}
"""
        )
        db = Database(f"sqlite:///{tmp_path}/{name}.db")
        notifiers = build_notifiers(settings)
        return db, build_recorder(settings, db), Dispatcher(db, notifiers, FAST_RETRIES), notifiers

    watcher = MqttWatcher(broker.port, ca_file=str(pki.ca), username="maskwatch", password="pw-from-env-42")
    db, recorder, dispatcher, notifiers = wired("site", f"ca_file: {pki.ca}")
    vid = recorder.opened(_violation(3))
    wait_for(lambda: (dispatcher.dispatch_due() or True) and dispatcher.pending() == 0, 20, "delivery over TLS")
    wait_for(lambda: watcher.on("gate/violation"), 5, "the MQTT message")
    assert [m["id"] for m in watcher.on("gate/violation")] == [vid]

    # The system CAs do not vouch for the site's certificate: nothing is sent, the alert waits.
    db2, recorder2, dispatcher2, notifiers2 = wired("untrusted", "ca_file: null")
    recorder2.opened(_violation(4))
    dispatcher2.dispatch_due()
    assert dispatcher2.pending() == 1
    with db2.session() as s:
        (alert,) = s.scalars(select(OutboxAlert).where(OutboxAlert.status == "pending")).all()
        assert alert.attempts == 0 and "not connected" in (alert.last_error or "")
    assert len(watcher.on("gate/violation")) == 1
    assert "pw-from-env-42" not in caplog.text
    for n in notifiers + notifiers2:
        n.close()
    watcher.close()
    broker.stop()
