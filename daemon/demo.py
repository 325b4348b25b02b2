"""The demo camera: a clip the project draws itself (nothing from ``../shared`` is shipped)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def make_demo_clip(out: Path, seconds: int = 20, fps: int = 15, size: tuple[int, int] = (640, 360)) -> Path:
    """A moving test scene; the daemon runs on it end to end (it contains no faces)."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (0, 0), 8)
    for i in range(seconds * fps):
        frame = background.copy()
        x = int((i * 6) % (w + 120)) - 60
        cv2.rectangle(frame, (x, h // 3), (x + 60, h // 3 + 140), (40, 40, 160), -1)
        cv2.circle(frame, (x + 30, h // 3 - 25), 25, (150, 180, 220), -1)
        cv2.putText(
            frame,
            f"maskwatch demo  {i / fps:5.1f} s",
            (10, h - 15),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        writer.write(frame)
    writer.release()
    return out
