"""An MQTT subscriber that keeps every message under a prefix: what the tests and the bench check alerts with."""

from __future__ import annotations

import json
import threading
import time
from typing import Any


class MqttWatcher:
    """Subscribes to everything under the prefix and keeps what arrives."""

    def __init__(
        self,
        port: int,
        topic: str = "maskwatch/#",
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, Any, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"watcher-{port}-{time.time()}")
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
            self.messages.append((msg.topic, body, bool(msg.retain)))

    def on(self, suffix: str) -> list[Any]:
        with self.lock:
            return [b for t, b, _ in self.messages if t.endswith(suffix)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
