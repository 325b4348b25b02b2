"""Alert channels and the policy that turns tracked faces into violations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from daemon.config.base import Section


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
    window: int = Field(5, ge=1, title="N", description="...out of the last N sampled frames of the track...")
    min_seconds: float = Field(0.6, ge=0, title="T", description="...spanning at least T seconds.")
    track_lost_seconds: float = Field(
        2.0, gt=0, title="Track timeout", description="A track unseen this long has ended; its violation closes."
    )

    rejoin_seconds: float = Field(
        10.0,
        ge=0,
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
    keepalive: int = Field(30, ge=5, title="Keepalive", description="Seconds between keepalive pings.")
    discovery: bool = Field(
        False,
        title="Home Assistant discovery",
        description="Publish Home Assistant MQTT discovery per camera (unmasked-person binary sensor, today's "
        "violations, last hour's mask rate, latest snapshot image) and keep their states retained.",
    )
    discovery_prefix: str = Field(
        "homeassistant", title="Discovery prefix", description="Home Assistant's MQTT discovery prefix."
    )


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
    sender: str = Field("maskwatch@localhost", title="From", description="Sender address.")
    recipients: list[str] = Field(default_factory=list, title="To", description="Recipient addresses.")
    cooldown_seconds: float = Field(
        0,
        ge=0,
        title="Cooldown",
        description="Minimum seconds between two violation emails to one recipient for one camera; later ones are skipped (they still reach MQTT and the database).",
    )
    timeout_seconds: float = Field(10, gt=0, title="Timeout", description="SMTP connection timeout.")
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
        2.0, gt=0, title="First retry", description="Delay before the first retry of a failed alert."
    )
    retry_max_seconds: float = Field(
        300.0,
        gt=0,
        title="Longest retry",
        description="Backoff cap between retries; alerts are retried until delivered.",
    )
    poll_seconds: float = Field(
        0.5, gt=0, title="Outbox poll", description="How often the dispatcher looks for pending alerts."
    )
