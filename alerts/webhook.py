"""Webhook alerts: each violation POSTed as JSON, signed, through the same outbox as MQTT and email.

The receiver checks ``X-Maskwatch-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<X-Maskwatch-Timestamp>.<body>`` under the hook's secret, and may refuse old timestamps
(replays). ``X-Maskwatch-Event`` (``violation-<id>``) is the same on every retry. A 2xx
answer marks the row delivered; anything else, or no answer within the timeout, is
retried with the outbox's backoff.

Rows are queued in the transaction that writes the violation (exactly once per violation
and hook) by a hook on the recorder's session factory (``queue_webhooks``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from alerts.base import ChannelDownError, DeliveryError, Notifier
from config.webhooks import WebhookSettings


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What ``X-Maskwatch-Signature`` carries; receivers compute the same and compare in constant time."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookNotifier(Notifier):
    channel = "webhook"

    def __init__(self, hooks: list[WebhookSettings]):
        self.hooks = {h.name: h for h in hooks}

    def deliver(self, key: int, kind: str, payload: dict[str, Any]) -> bool:
        """POST the alert; the outbox marks it delivered once the receiver answered 2xx."""
        hook = self.hooks.get(str(payload.get("webhook")))
        if hook is None:  # removed from the config since: nowhere to send it, and no point retrying
            return True
        body = json.dumps(payload, sort_keys=True).encode()
        stamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the URL is from the config, http(s) only
            hook.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "maskwatch",
                "X-Maskwatch-Event": f"{kind}-{payload.get('id')}",
                "X-Maskwatch-Timestamp": stamp,
                "X-Maskwatch-Signature": signature(hook.secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=hook.timeout_seconds) as resp:  # noqa: S310
                resp.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook {hook.name}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:  # refused, timed out, unreachable: an outage, not this alert's fault
            raise ChannelDownError(f"webhook {hook.name}: {exc}") from exc
        return True
