"""The outbox under hostile input and broken parts: one poison alert fails alone, a hung broker
doubles nothing, a read-only snapshot folder loses no violation (issue 22, items 2 and 3)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from alerts.dispatcher import Dispatcher
from alerts.mqtt import MqttNotifier
from bench.loopback.mqtt_watch import MqttWatcher
from daemon.config.alerts import DeliverySettings, EmailSettings, MqttSettings
from storage.db import Database
from storage.recorder import Recorder
from storage.snapshots import SnapshotStore
from tests.conftest import wait_for
from workers.violations import OpenedViolation


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
