"""Webhooks: violations POSTed as JSON to door controllers and access-control systems."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from config.base import Section

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


class WebhookSettings(Section):
    name: str = Field(title="Name", description="Unique name; outbox rows and logs say which hook they are for.")
    url: str = Field(title="URL", description="http(s):// endpoint that receives each violation as a JSON POST.")
    secret: str = Field(
        title="Secret",
        description="HMAC-SHA256 key of the X-Maskwatch-Signature header; use ${ENV}, never a literal.",
        min_length=16,
    )
    cameras: list[str] = Field([], title="Cameras", description="Only these cameras; empty: all.")
    labels: list[Literal["without_mask", "incorrect_mask"]] = Field(
        [], title="Labels", description="Only these labels; empty: all."
    )
    timeout_seconds: float = Field(5, gt=0, le=60, title="Timeout", description="Seconds to wait for the receiver.")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("must be 1-32 letters, digits, '-' or '_'")
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must start with http:// or https:// and a host")
        return value

    def wants(self, camera: str, label: str) -> bool:
        return (not self.cameras or camera in self.cameras) and (not self.labels or label in self.labels)


def _unique_names(hooks: list[WebhookSettings]) -> list[WebhookSettings]:
    names = [h.name for h in hooks]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"webhook name {name!r} is used twice")
    return hooks


WebhookList = Annotated[list[WebhookSettings], AfterValidator(_unique_names)]
