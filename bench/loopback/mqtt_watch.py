"""An MQTT subscriber that keeps every message under a prefix: what the tests and the bench check alerts with."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, NamedTuple


class Received(NamedTuple):
    topic: str
    body: Any
    retain: bool
    dup: bool  # the broker's own redelivery of a message it had sent before (QoS 1)


class MqttWatcher:
    """Subscribes to everything under the prefix and keeps what arrives."""

    def __init__(
        self,
        port: int,
        topic: str = "maskwatch/#",
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
        persistent_id: str | None = None,
    ):
        """``persistent_id``: a fixed client id with a kept session, so that QoS 1 messages sent
        while the watcher reconnects (after a broker restart) are queued for it, not missed."""
        import paho.mqtt.client as mqtt

        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=persistent_id or f"watcher-{port}-{time.time()}",
            protocol=mqtt.MQTTv311,
            clean_session=persistent_id is None,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        if ca_file:
            self.client.tls_set(ca_certs=ca_file)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            try:
                body = msg.payload.decode()
            except UnicodeDecodeError:
                body = bytes(msg.payload)  # a picture (retained snapshots)
        with self.lock:
            self.messages.append(Received(msg.topic, body, bool(msg.retain), bool(msg.dup)))

    def on(self, suffix: str) -> list[Any]:
        with self.lock:
            return [m.body for m in self.messages if m.topic.endswith(suffix)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
