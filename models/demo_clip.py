"""The demo camera: a clip made from a few CC0 street scenes of ``masks-det``.

The clip is committed (``deploy/demo/demo.mp4``) so the embedded default runs without
``../shared``; ``maskwatch demo-clip`` makes it again from the scenes. Each scene is
shown for a few seconds with a slow zoom, as a camera that pans would see it, so the
daemon finds faces with and without masks and records the violations.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from models.shared_data import read_image, shared_dir

DEMO_SCENES = (
    "maksssksksss699.jpg",
    "maksssksksss787.jpg",
    "maksssksksss495.jpg",
    "maksssksksss585.jpg",
    "maksssksksss148.jpg",
    "maksssksksss389.jpg",
)
"""Scenes of the Kaggle "Face Mask Detection" set (CC0) with masked and unmasked faces."""
ZOOM = 1.15


def make_demo_clip(
    out: Path, seconds_per_scene: float = 4.0, fps: int = 10, size: tuple[int, int] = (640, 360)
) -> Path:
    """Write the demo clip to ``out`` (mp4) from :data:`DEMO_SCENES` in ``../shared``."""
    images = [read_image(shared_dir() / "datasets" / "masks-det" / "images" / name) for name in DEMO_SCENES]
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot write {out}")
    frames = int(seconds_per_scene * fps)
    for image in images:
        for i in range(frames):
            writer.write(_frame(image, 1.0 + (ZOOM - 1.0) * i / max(frames - 1, 1), size))
    writer.release()
    return out


def _frame(image: np.ndarray, zoom: float, size: tuple[int, int]) -> np.ndarray:
    """``image`` fitted into ``size`` on a dark background, zoomed about its centre."""
    w, h = size
    scale = min(w / image.shape[1], h / image.shape[0]) * zoom
    transform = np.array(
        [[scale, 0.0, w / 2 - scale * image.shape[1] / 2], [0.0, scale, h / 2 - scale * image.shape[0] / 2]]
    )
    return cv2.warpAffine(image, transform, size, flags=cv2.INTER_LINEAR, borderValue=(24, 24, 24))
