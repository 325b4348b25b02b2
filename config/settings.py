"""The root of the settings tree, one field per YAML section."""

from __future__ import annotations

from pydantic import Field, model_validator

from config.alerts import DeliverySettings, EmailSettings, MqttSettings, ViolationPolicy
from config.base import Section
from config.cameras import CameraSettings
from config.console import ConsoleSettings
from config.runtime import (
    DatabaseSettings,
    InferenceSettings,
    LoggingSettings,
    MetricsSettings,
    ScheduleSettings,
    SnapshotSettings,
    TransportSettings,
)
from config.webhooks import WebhookList


class Settings(Section):
    cameras: list[CameraSettings] = Field(title="Cameras", description="The camera sources to watch.")
    transport: TransportSettings = Field(
        default_factory=TransportSettings,
        title="Transport",
        description="How frames and detections travel between roles.",
    )
    inference: InferenceSettings = Field(
        default_factory=InferenceSettings, title="Inference", description="Face detector and mask classifier."
    )
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, title="Database", description="Violation history."
    )
    snapshots: SnapshotSettings = Field(
        default_factory=SnapshotSettings, title="Snapshots", description="Snapshot files and retention."
    )
    violations: ViolationPolicy = Field(
        default_factory=ViolationPolicy,
        title="Violation policy",
        description="When a tracked face becomes a violation.",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, title="MQTT", description="MQTT alerts and status.")
    email: EmailSettings = Field(default_factory=EmailSettings, title="Email", description="Email alerts and digest.")
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, title="Delivery", description="Alert retry policy."
    )
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings, title="Schedule", description="Active hours.")
    logging: LoggingSettings = Field(
        default_factory=LoggingSettings, title="Logging", description="Log level and format."
    )
    metrics: MetricsSettings = Field(
        default_factory=MetricsSettings, title="Metrics", description="Prometheus metrics and health endpoint."
    )
    console: ConsoleSettings = Field(
        default_factory=ConsoleSettings, title="Console", description="Web console and HTTP API."
    )
    webhooks: WebhookList = Field(
        [], title="Webhooks", description="HTTP endpoints that receive each violation (signed JSON POST)."
    )

    @model_validator(mode="after")
    def _unique_camera_names(self) -> Settings:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.name in seen:
                raise ValueError(f"camera name {cam.name!r} is used twice")
            seen.add(cam.name)
        return self

    def camera(self, name: str) -> CameraSettings:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"no camera named {name!r} in the configuration")
