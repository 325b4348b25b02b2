"""MQTT alerts with paho-mqtt 2 (QoS 1): violations, camera status, availability with a last will.

QoS 1 is at-least-once: every violation payload carries its ``id`` so a receiver drops a
redelivery. We never cause one while the process lives: a publish whose ack is late (a hung
broker) is tracked by its message id until the broker acks it; paho resends it itself after
a reconnect, so it is never published a second time. Only what was in flight when the
process stopped is published again at the next start.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
from typing import Any

import paho.mqtt.client as mqtt

from alerts.base import ChannelDownError, DeliveryError, Notifier
from config.alerts import MqttSettings

log = logging.getLogger("maskwatch.mqtt")

# Wildcards, NUL and the C0/C1 control characters: Mosquitto refuses them in a PUBLISH topic.
_BAD_TOPIC_CHAR = re.compile("[+#\x00-\x1f\x7f-\x9f]")


def check_publish_topic(topic: str) -> None:
    """Raise :class:`DeliveryError` unless ``topic`` is one Mosquitto accepts in a PUBLISH.

    Why before publishing: the broker answers a malformed topic by closing the connection,
    and paho resends the message after every reconnect, so one bad camera name would stop
    every other alert. Rules of MQTT 3.1.1 (4.7, 1.5.3) as Mosquitto applies them: not
    empty, at most 65535 bytes of UTF-8, no wildcard, no control or non-character, and no
    leading ``$`` (broker topics)."""
    bad = _BAD_TOPIC_CHAR.search(topic)
    if bad:
        raise DeliveryError(f"MQTT topic {topic!r} has {bad.group()!r}, which a publish topic must not contain")
    if any(0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE for c in topic):
        raise DeliveryError(f"MQTT topic {topic!r} has a Unicode non-character")
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise DeliveryError(f"MQTT topic {topic!r} is not valid UTF-8: {exc.reason}") from None
    if not 0 < size <= 65535 or topic.startswith("$"):
        raise DeliveryError(f"MQTT topic {topic!r} is empty, longer than 65535 bytes or starts with '$'")


class MqttNotifier(Notifier):
    channel = "mqtt"

    def __init__(self, settings: MqttSettings, publish_timeout: float = 5.0):
        self.settings = settings
        self.timeout = publish_timeout
        self.availability_topic = f"{settings.topic_prefix}/availability"
        self._connected = threading.Event()
        # Publishes waiting for their PUBACK: outbox key -> (mid, acks seen before it was sent).
        self._inflight: dict[int, tuple[int, int]] = {}
        self._acks: dict[int, int] = {}  # mid -> sequence number of its PUBACK (at most 65535 mids)
        self._ack_seq = 0
        self._acked = threading.Condition()
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
        client.on_publish = self._on_publish
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

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _reason: Any, _p: Any) -> None:
        # paho's network thread, inside paho's locks: only note the ack, never call paho here
        with self._acked:
            self._ack_seq += 1
            self._acks[mid] = self._ack_seq
            self._acked.notify_all()

    def topic(self, kind: str, payload: dict[str, Any]) -> str:
        return f"{self.settings.topic_prefix}/{payload.get('camera', '_')}/{kind}"

    def deliver(self, key: int, kind: str, payload: dict[str, Any]) -> bool:
        with self._acked:
            sent = self._inflight.get(key)
            wait = 0.0 if self._inflight else self.timeout  # a late ack ahead: the broker is slow, don't queue up waits
        if sent is None:
            topic = self.topic(kind, payload)
            check_publish_topic(topic)
            body = json.dumps(payload)
            if not self._connected.wait(self.timeout):
                raise ChannelDownError(f"MQTT broker {self.settings.host}:{self.settings.port} not connected")
            with self._acked:
                before = self._ack_seq
            info = self.client.publish(topic, body, qos=1, retain=kind == "status")
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                raise ChannelDownError("MQTT: paho's outgoing queue is full")
            # any other rc (no connection now): paho keeps the message and sends it on reconnect
            sent = (info.mid, before)
            with self._acked:
                self._inflight[key] = sent
        else:
            wait = 0.0
        mid, before = sent
        with self._acked:
            if self._acked.wait_for(lambda: self._acks.get(mid, -1) > before, timeout=wait):
                del self._acks[mid], self._inflight[key]
                return True
        if wait:
            log.warning(
                "alert %s: no MQTT ack in %.0f s; waiting for the broker's ack, not publishing it again", key, wait
            )
        return False

    def close(self) -> None:
        with self._acked:
            waiting = len(self._inflight)
        if waiting:
            log.warning(
                "%d MQTT alert(s) published but not acknowledged: they stay pending and are published again at the "
                "next start (receivers drop redeliveries by id)",
                waiting,
            )
        try:
            if self._connected.is_set():
                self.client.publish(self.availability_topic, "offline", qos=1, retain=True).wait_for_publish(2)
        except (RuntimeError, ValueError) as exc:
            log.warning("MQTT: offline status not sent: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
