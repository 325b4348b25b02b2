"""MQTT alerts with paho-mqtt 2 (QoS 1): violations, camera status, availability with a last will."""

from __future__ import annotations

import json
import logging
import ssl
import threading
from typing import Any

import paho.mqtt.client as mqtt

from alerts.base import DeliveryError, Notifier
from daemon.config.alerts import MqttSettings

log = logging.getLogger("maskwatch.mqtt")


class MqttNotifier(Notifier):
    channel = "mqtt"

    def __init__(self, settings: MqttSettings, publish_timeout: float = 5.0):
        self.settings = settings
        self.timeout = publish_timeout
        self.availability_topic = f"{settings.topic_prefix}/availability"
        self._connected = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv311, clean_session=False
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive)
        client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        client.publish(self.availability_topic, "online", qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        log.warning("MQTT disconnected (%s); reconnecting", reason)

    def topic(self, kind: str, payload: dict[str, Any]) -> str:
        return f"{self.settings.topic_prefix}/{payload.get('camera', '_')}/{kind}"

    def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        if not self._connected.wait(self.timeout):
            raise DeliveryError(f"MQTT broker {self.settings.host}:{self.settings.port} not connected")
        info = self.client.publish(self.topic(kind, payload), json.dumps(payload), qos=1, retain=kind == "status")
        try:
            info.wait_for_publish(self.timeout)
        except (RuntimeError, ValueError) as exc:
            raise DeliveryError(f"MQTT publish failed: {exc}") from exc
        if not info.is_published():
            raise DeliveryError("MQTT publish not acknowledged in time")

    def close(self) -> None:
        if self._connected.is_set():
            self.client.publish(self.availability_topic, "offline", qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
