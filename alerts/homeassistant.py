"""Home Assistant over MQTT: discovery configs per camera and their states, retained.

Per camera, under ``<discovery_prefix>/<component>/<topic_prefix>_<camera>/<object>/config``:
a ``binary_sensor`` "unmasked person" (ON while a violation is open), a ``sensor`` with
today's violations, one with the last hour's mask rate, and an ``image`` of the latest
violation's snapshot (JPEG bytes, retained on ``<topic_prefix>/<camera>/snapshot``), all
tied to ``<topic_prefix>/availability`` (the alert channel's last will) and grouped in one
device per camera. Configs of cameras that left the configuration are removed (an empty
retained message, as Home Assistant expects).

States are read from the database, like the console, and published when they change:
they are state, not events, so they need no outbox; a broker outage only delays them.
Its own MQTT connection (client id ``<client_id>-ha``) keeps it out of the alert path.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from config.settings import Settings
from storage.db import Database
from storage.models import Violation
from storage.queries import compliance

log = logging.getLogger("maskwatch.homeassistant")
RETAINED_GRACE_S = 1.5  # how long the broker is given to hand over the configs it keeps


class HomeAssistantPublisher:
    def __init__(self, settings: Settings, db: Database, interval: float = 2.0):
        self.mqtt = settings.mqtt
        self.db = db
        self.interval = interval
        self.prefix = settings.mqtt.topic_prefix
        self.discovery = settings.mqtt.discovery_prefix
        self.cameras = [c.name for c in settings.cameras]
        self.snapshot_root = Path(settings.snapshots.dir).resolve()
        self.seen_configs: set[str] = set()
        self.published: dict[str, Any] = {}
        self.connected = threading.Event()
        self.stopping = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"{self.mqtt.client_id}-ha", protocol=mqtt.MQTTv311
        )
        if self.mqtt.username:
            client.username_pw_set(self.mqtt.username, self.mqtt.password)
        if self.mqtt.tls:
            client.tls_set(ca_certs=self.mqtt.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self.connected.clear()
        client.on_message = self._on_message
        self.client = client
        self.thread = threading.Thread(target=self._run, name="homeassistant", daemon=True)

    def node(self, camera: str) -> str:
        return f"{self.prefix}_{camera}"

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("Home Assistant MQTT connect refused: %s", reason)
            return
        client.subscribe(f"{self.discovery}/+/+/+/config", qos=1)
        self.published.clear()  # a new session: everything again (the broker may have lost it)
        self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: Any) -> None:
        parts = msg.topic.split("/")
        if msg.retain and msg.payload and len(parts) == 5 and parts[2].startswith(f"{self.prefix}_"):
            self.seen_configs.add(msg.topic)

    def start(self) -> HomeAssistantPublisher:
        self.client.connect_async(self.mqtt.host, self.mqtt.port, keepalive=self.mqtt.keepalive)
        self.client.loop_start()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def configs(self, camera: str) -> dict[str, dict[str, Any]]:
        """Discovery topic -> config of one camera's four entities."""
        node, base = self.node(camera), f"{self.prefix}/{camera}"
        common = {
            "availability_topic": f"{self.prefix}/availability",
            "device": {"identifiers": [node], "name": f"maskwatch {camera}", "manufacturer": "maskwatch"},
        }
        entities = {
            ("binary_sensor", "unmasked"): {
                "name": "Unmasked person",
                "state_topic": f"{base}/unmasked",
                "payload_on": "ON",
                "payload_off": "OFF",
                "device_class": "occupancy",
            },
            ("sensor", "violations_today"): {
                "name": "Violations today",
                "state_topic": f"{base}/violations_today",
                "state_class": "total",
                "icon": "mdi:face-mask-outline",
            },
            ("sensor", "mask_rate_1h"): {
                "name": "Mask rate, last hour",
                "state_topic": f"{base}/mask_rate_1h",
                "unit_of_measurement": "%",
                "state_class": "measurement",
            },
            ("image", "snapshot"): {
                "name": "Latest violation",
                "image_topic": f"{base}/snapshot",
                "content_type": "image/jpeg",
            },
        }
        return {
            f"{self.discovery}/{component}/{node}/{obj}/config": {**cfg, **common, "unique_id": f"{node}_{obj}"}
            for (component, obj), cfg in entities.items()
        }

    def _publish(self, topic: str, payload: str | bytes) -> None:
        if self.published.get(topic) == payload:
            return
        self.client.publish(topic, payload, qos=1, retain=True)
        self.published[topic] = payload

    def _announce(self) -> None:
        wanted: dict[str, dict[str, Any]] = {}
        for cam in self.cameras:
            wanted.update(self.configs(cam))
        for topic in sorted(self.seen_configs - set(wanted)):
            log.info("Home Assistant: removing %s (its camera left the configuration)", topic)
            self.client.publish(topic, b"", qos=1, retain=True)
        for topic, cfg in wanted.items():
            self._publish(topic, json.dumps(cfg))

    def states(self) -> dict[str, str | bytes]:
        """Topic -> retained state of every camera, from the database."""
        now = datetime.now(UTC)
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        out: dict[str, str | bytes] = {}
        with self.db.session() as session:
            open_ = set(session.scalars(select(Violation.camera).where(Violation.ended_at.is_(None))).all())
            today = dict(
                session.execute(
                    select(Violation.camera, func.count())
                    .where(Violation.started_at >= midnight)
                    .group_by(Violation.camera)
                ).all()
            )
            newest = dict(
                session.execute(select(Violation.camera, func.max(Violation.id)).group_by(Violation.camera)).all()
            )
            paths = dict(
                session.execute(
                    select(Violation.id, Violation.snapshot_path).where(Violation.id.in_(newest.values()))
                ).all()
            )
        seen: dict[str, list[int]] = {}
        for row in compliance(self.db, since=now - timedelta(hours=1)):
            people = seen.setdefault(row.camera, [0, 0])
            people[0] += row.with_mask
            people[1] += row.with_mask + row.without_mask + row.incorrect_mask
        for cam in self.cameras:
            base = f"{self.prefix}/{cam}"
            out[f"{base}/unmasked"] = "ON" if cam in open_ else "OFF"
            out[f"{base}/violations_today"] = str(today.get(cam, 0))
            masked, total = seen.get(cam, [0, 0])
            if total:
                out[f"{base}/mask_rate_1h"] = f"{100 * masked / total:.1f}"
            latest = newest.get(cam)
            picture = self._picture(paths.get(latest)) if latest is not None else None
            if picture is not None:
                out[f"{base}/snapshot"] = picture
        return out

    def _picture(self, stored: str | None) -> bytes | None:
        if not stored:
            return None
        path = Path(stored).resolve()
        if not path.is_relative_to(self.snapshot_root) or not path.is_file():
            return None
        return path.read_bytes()

    def _run(self) -> None:
        announced = False
        while not self.stopping.wait(self.interval if announced else 0.2):
            if not self.connected.is_set():
                announced = False
                continue
            try:
                if not announced:
                    self.stopping.wait(RETAINED_GRACE_S)  # let the broker hand over the configs it keeps
                    self._announce()
                    announced = True
                for topic, payload in self.states().items():
                    self._publish(topic, payload)
            except Exception as exc:  # noqa: BLE001 - a database or broker hiccup: try again next tick
                log.warning("Home Assistant states not published: %s", exc)
