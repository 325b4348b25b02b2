"""Alert channels and the policy that turns tracked faces into violations."""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from config.base import Section

# RFC 5322 dot-atom local part at a host name: no display name, no quoting, nothing that can end a header line
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
ADDRESS = re.compile(rf"{_LOCAL}@{_HOST}")
# MQTT 3.1.1 section 4.7: no wildcards, no NUL; control characters SHOULD NOT appear; "$" topics are the broker's
_TOPIC_BAD = re.compile(r"[#+\x00-\x1f\x7f-\x9f]")


def _address(value: str) -> str:
    """A bare address as SMTP takes it (``a@example.com``, ``maskwatch@localhost``), refused otherwise.

    A strict check rather than ``email-validator``: that library refuses ``localhost`` and
    dotless relay domains that loopback and in-house relays use.
    """
    if len(value) > 254 or not ADDRESS.fullmatch(value) or parseaddr(value) != ("", value):
        raise ValueError(f"{value!r} is not an email address like name@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


class ViolationPolicy(Section):
    labels: list[Literal["without_mask", "incorrect_mask"]] = Field(
        ["without_mask"], title="Violation labels", description="Labels that count as a violation."
    )
    min_hits: int = Field(
        3,
        ge=1,
        title="K",
        description="A track opens a violation when at least K of its last N sampled frames carry a violation label...",
    )
    window: int = Field(5, ge=1, le=1000, title="N", description="...out of the last N sampled frames of the track...")
    min_seconds: float = Field(0.6, ge=0, le=3600, title="T", description="...spanning at least T seconds.")
    track_lost_seconds: float = Field(
        2.0,
        gt=0,
        le=3600,
        title="Track timeout",
        description="A track unseen this long has ended; its violation closes.",
    )

    rejoin_seconds: float = Field(
        20.0,
        ge=0,
        le=3600,
        title="Rejoin window",
        description="A new track that qualifies within this many seconds of a violation's last sighting, near where "
        "that person was last seen and never in one frame with them, is taken as the same person (the tracker lost "
        "them): no second violation. 0 turns this off.",
    )

    @model_validator(mode="after")
    def _k_le_n(self) -> ViolationPolicy:
        if self.min_hits > self.window:
            raise ValueError(f"min_hits ({self.min_hits}) must not exceed window ({self.window})")
        return self


class MqttSettings(Section):
    enabled: bool = Field(False, title="Enabled", description="Publish violations and status over MQTT.")
    host: str = Field("127.0.0.1", title="Broker host", description="MQTT broker host name.")
    port: int = Field(1883, ge=1, le=65535, title="Broker port", description="MQTT broker port (8883 for TLS).")
    username: str | None = Field(None, title="Username", description="Login; use ${ENV}.")
    password: str | None = Field(None, title="Password", description="Password; use ${ENV}, never a literal.")
    tls: bool = Field(False, title="TLS", description="Connect with TLS.")
    ca_file: str | None = Field(None, title="CA file", description="CA bundle for TLS; the system's if unset.")
    topic_prefix: str = Field(
        "maskwatch",
        title="Topic prefix",
        description="Topics are <prefix>/<camera>/violation, <prefix>/<camera>/status, <prefix>/availability.",
    )
    client_id: str = Field("maskwatch", title="Client id", description="MQTT client id; unique per daemon.")
    keepalive: int = Field(30, ge=5, le=65535, title="Keepalive", description="Seconds between keepalive pings.")
    discovery: bool = Field(
        False,
        title="Home Assistant discovery",
        description="Publish Home Assistant MQTT discovery per camera (unmasked-person binary sensor, today's "
        "violations, last hour's mask rate, latest snapshot image) and keep their states retained.",
    )
    discovery_prefix: str = Field(
        "homeassistant", title="Discovery prefix", description="Home Assistant's MQTT discovery prefix."
    )

    @field_validator("topic_prefix")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        """The broker drops the connection of a client that publishes to a malformed topic: refuse it here."""
        if not value or "" in value.split("/"):
            raise ValueError("must be one or more non-empty levels separated by '/', like site/maskwatch")
        if _TOPIC_BAD.search(value):
            raise ValueError(
                "must not contain '#', '+', NUL or control characters (MQTT wildcards are for subscribers)"
            )
        if value.startswith("$"):
            raise ValueError("must not start with '$' (topics the broker reserves)")
        if len(value.encode()) > 1024:
            raise ValueError("must be at most 1024 bytes")
        return value


class DigestSettings(Section):
    enabled: bool = Field(False, title="Daily digest", description="Send a compliance digest each day.")
    hour: int = Field(
        7, ge=0, le=23, title="Hour", description="Local hour at which the digest of the previous 24 h is sent."
    )


class EmailSettings(Section):
    enabled: bool = Field(False, title="Enabled", description="Send one email per violation.")
    host: str = Field("127.0.0.1", title="SMTP host", description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, title="SMTP port", description="587 for STARTTLS, 465 for SSL, 25 plain.")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", title="Security", description="starttls, ssl, or none (loopback relays only)."
    )
    username: str | None = Field(None, title="Username", description="SMTP login; use ${ENV}.")
    password: str | None = Field(None, title="Password", description="SMTP password; use ${ENV}.")
    sender: EmailAddress = Field("maskwatch@localhost", title="From", description="Sender address.")
    recipients: list[EmailAddress] = Field(default_factory=list, title="To", description="Recipient addresses.")
    cooldown_seconds: float = Field(
        0,
        ge=0,
        le=7 * 86400,
        title="Cooldown",
        description="Minimum seconds between two violation emails to one recipient for one camera; later ones are skipped (they still reach MQTT and the database).",
    )
    timeout_seconds: float = Field(10, gt=0, le=600, title="Timeout", description="SMTP connection timeout.")
    digest: DigestSettings = Field(
        default_factory=DigestSettings, title="Digest", description="Daily compliance digest."
    )

    @model_validator(mode="after")
    def _recipients_when_enabled(self) -> EmailSettings:
        if self.enabled and not self.recipients:
            raise ValueError("recipients must list at least one address when email is enabled")
        return self


class DeliverySettings(Section):
    retry_initial_seconds: float = Field(
        2.0, gt=0, le=3600, title="First retry", description="Delay before the first retry of a failed alert."
    )
    retry_max_seconds: float = Field(
        300.0,
        gt=0,
        le=86400,
        title="Longest retry",
        description="Backoff cap between retries of one alert.",
    )
    poll_seconds: float = Field(
        0.5, gt=0, le=60, title="Outbox poll", description="How often the dispatcher looks for pending alerts."
    )
    max_attempts: int = Field(
        10,
        ge=1,
        title="Attempts before dead letter",
        description="After this many failed deliveries an alert is set aside as failed (`maskwatch alerts --failed`, "
        "requeued with `--retry`). Tries while the broker or SMTP server is unreachable do not count: an outage only delays.",
    )
