"""Where things run and are kept: transport, inference, database, snapshots, logs, metrics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time as dtime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from config.base import Section

HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


class TransportSettings(Section):
    type: Literal["memory", "redis"] = Field(
        "memory",
        title="Transport",
        description="memory: one host, in-process queues; redis: roles on many hosts through Redis Streams.",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        title="Redis URL",
        description="redis:// or rediss:// (TLS); put the password in ${ENV}.",
    )
    max_frames: int = Field(
        8,
        ge=1,
        le=10_000,
        title="Frames kept",
        description="Frames kept per camera; the oldest are dropped (and counted) when inference falls behind.",
    )
    claim_idle_ms: int = Field(
        5000,
        ge=100,
        le=86_400_000,
        title="Reclaim after",
        description="Frames pending this long on a dead worker are reclaimed by another.",
    )


class InferenceSettings(Section):
    detector: str = Field(
        "face_detector.onnx",
        title="Face detector",
        description="YOLO weights: a shipped name (face_detector.onnx, face_detector.pt) or a path to .pt, .onnx or a TensorRT .engine.",
    )
    classifier: str = Field(
        "mask_classifier.onnx",
        title="Mask classifier",
        description="ONNX mask classifier: a shipped name (mask_classifier.onnx) or a path.",
    )
    device: str = Field("auto", title="Device", description="auto (CUDA when present), cpu, or cuda:N.")
    detect_size: int = Field(
        416, ge=160, le=1280, title="Detector input", description="Detector input size in pixels (multiple of 32)."
    )
    detect_mirror: bool = Field(
        False,
        title="Mirror averaging",
        description=(
            "Also detect every frame flipped left to right and average the two passes' scores: finds more "
            "faces at equal false positives (models/FACE_MODEL.md), for twice the detector's time per frame."
        ),
    )
    batch: int = Field(4, ge=1, le=64, title="Batch", description="Frames per detector call, across cameras.")
    threads: int = Field(
        0, ge=0, le=1024, title="Threads", description="CPU threads per model; 0 picks from the core count."
    )
    motion_gate: bool = Field(
        True,
        title="Motion gate",
        description="Skip the detector on frames that have not changed since the last detection.",
    )

    @field_validator("detect_size")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError("must be a multiple of 32")
        return value


class DatabaseSettings(Section):
    url: str = Field(
        "sqlite:///var/maskwatch.db",
        title="Database URL",
        description="SQLAlchemy URL: sqlite:///path (embedded, WAL) or postgresql+psycopg://user:${PGPASSWORD}@host/db.",
    )

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        """A URL SQLAlchemy parses, for a dialect installed here (whether its SQLite folder is writable is
        a question about this host: ``config.host``)."""
        parse_database_url(value)
        return value


def parse_database_url(value: str) -> URL:
    """``make_url`` plus the dialect lookup; errors never echo the URL (it may hold a password)."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("not a database URL: expected sqlite:///path or postgresql+psycopg://user@host/db") from None
    if url.host and "@" in url.host:  # SQLAlchemy splits at the first "@": the rest of the password becomes the host
        raise ValueError("a password with '@' must be written %40 in a database URL")
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"unknown database dialect or driver {url.drivername!r}") from None
    return url


class SnapshotSettings(Section):
    dir: str = Field("var/snapshots", title="Folder", description="Where violation snapshots (JPEG) are written.")
    retention_days: float = Field(
        30,
        gt=0,
        le=36500,
        title="Retention",
        description="Violations, events and their snapshot files older than this are deleted together.",
    )
    jpeg_quality: int = Field(90, ge=30, le=100, title="JPEG quality", description="Snapshot JPEG quality.")


@dataclass(frozen=True)
class ActiveHours:
    """A daily window of local time, parsed once at load (it may wrap past midnight)."""

    start: dtime
    end: dtime  # time.max for 24:00

    @classmethod
    def parse(cls, value: object) -> object:
        """'HH:MM-HH:MM' into an ActiveHours; anything else is left for pydantic to refuse."""
        if not isinstance(value, str):
            return value
        if not HOURS.match(value):
            raise ValueError("must look like '07:00-19:00'")
        start, end = value.split("-")
        return cls(dtime.fromisoformat(start), dtime.max if end.startswith("24") else dtime.fromisoformat(end))

    def contains(self, local: dtime) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == dtime.max else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


class ScheduleSettings(Section):
    active_hours: Annotated[
        ActiveHours | None, BeforeValidator(ActiveHours.parse), PlainSerializer(lambda h: str(h) if h else None)
    ] = Field(
        None,
        title="Active hours",
        description="'HH:MM-HH:MM' local time during which violations are raised; unset means always.",
    )


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", title="Level", description="Log level.")
    format: Literal["text", "json"] = Field(
        "text", title="Format", description="text for people, json for log shippers."
    )


class MetricsSettings(Section):
    enabled: bool = Field(True, title="Enabled", description="Serve /metrics and /healthz.")
    host: str = Field(
        "127.0.0.1", title="Host", description="Bind address; keep it on loopback unless a scraper needs more."
    )
    port: int = Field(9108, ge=0, le=65535, title="Port", description="HTTP port (0 picks a free one).")
    loop_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        title="Loop timeout",
        description=(
            "A worker loop (inference, events) that has not gone round for this long counts as wedged: "
            "/healthz answers 503 and systemd's watchdog is no longer fed. Camera readers get 1.5x "
            "(reconnect waits), the outbox 2x (slow mail servers)."
        ),
    )
