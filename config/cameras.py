"""Per-camera settings."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from config.base import Section

# fullmatch: "$" alone also matches before a trailing newline, and "lobby\n" broke every MQTT topic
CAMERA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Thresholds(Section):
    face: float = Field(
        0.3, ge=0.05, le=1.0, title="Face score", description="Detector score a box needs to count as a face."
    )
    label: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        title="Label score",
        description=(
            "Classifier probability a label needs to count towards a violation. A face is called "
            "without_mask only at 0.5 or more, so below 0.5 only incorrect_mask calls get easier."
        ),
    )


class CameraSettings(Section):
    name: str = Field(
        title="Name",
        description="Unique camera name; letters, digits, '-' and '_' (used in MQTT topics and file names).",
    )
    url: str = Field(
        title="Source",
        description="rtsp://, http(s):// MJPEG, a video file path, or a device index such as '0'. Use ${ENV} for passwords.",
    )
    enabled: bool = Field(True, title="Enabled", description="A disabled camera is not opened.")
    detect_fps: float = Field(
        5.0,
        gt=0,
        le=60,
        title="Detect fps",
        description="Frames per second sampled for detection; the rest are grabbed and skipped.",
    )
    detect_width: int = Field(
        640,
        ge=160,
        le=3840,
        title="Detect size",
        description="Frames wider than this are downscaled to this width before they travel to inference.",
    )
    detect_tiles: int = Field(
        1,
        ge=1,
        le=4,
        title="Detector tiles",
        description=(
            "Also detect the frame in N overlapping windows along its longer side (and as many as keep "
            "them square along the other), each at the full detector input: finds the small faces at the "
            "back of a wide view, for one detector pass per window more. 1 is off. Raise detect_width "
            "with it, or the frame is downscaled before the windows are cut."
        ),
    )
    roi: tuple[float, float, float, float] | None = Field(
        None,
        title="Region of interest",
        description="Normalised [x1, y1, x2, y2] of the frame; faces whose centre lies outside are ignored.",
    )
    min_face_px: int = Field(
        20,
        ge=1,
        le=512,
        title="Minimum face size",
        description="Faces narrower than this (pixels, at detect size) are not classified.",
    )
    min_sharpness: float = Field(
        15.0,
        ge=0,
        le=1e6,
        title="Minimum sharpness",
        description="Variance of the Laplacian below which a face crop is too blurred to classify.",
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, title="Thresholds", description="Score thresholds for this camera."
    )
    loop: bool = Field(False, title="Loop file", description="Restart a video file at its end (demos and benchmarks).")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not CAMERA_NAME.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("roi")
    @classmethod
    def _roi_inside(cls, value: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if value is not None:
            x1, y1, x2, y2 = value
            if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
                raise ValueError("must be [x1, y1, x2, y2] with 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1")
        return value

    @model_validator(mode="after")
    def _url_not_empty(self) -> CameraSettings:
        if not self.url.strip():
            raise ValueError("url must not be empty")
        return self
