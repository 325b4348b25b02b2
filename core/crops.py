"""How a face is cut out of a frame for the mask classifier.

One policy, used by the daemon at run time and by training when it cuts the real-scene
crops, so the classifier sees at run time exactly what it learnt on: a square around the
face box grown by :data:`FACE_MARGIN` on each side, clipped to the frame, then resized.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_MARGIN = 0.15
"""Fraction of the longer box side added on every side (chin, forehead, mask edges)."""


def square_crop_box(
    box: tuple[float, float, float, float], width: int, height: int, margin: float = FACE_MARGIN
) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    nx1 = int(round(max(0.0, cx - side / 2)))
    ny1 = int(round(max(0.0, cy - side / 2)))
    nx2 = int(round(min(float(width), cx + side / 2)))
    ny2 = int(round(min(float(height), cy + side / 2)))
    return nx1, ny1, max(nx2, nx1 + 1), max(ny2, ny1 + 1)


def face_crop(frame: np.ndarray, box: tuple[float, float, float, float], margin: float = FACE_MARGIN) -> np.ndarray:
    """The face region of ``frame`` (any size; :func:`to_model_input` resizes it)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = square_crop_box(box, w, h, margin)
    return frame[y1:y2, x1:x2]


def to_model_input(crops: list[np.ndarray], size: int, bgr: bool = True) -> np.ndarray:
    """Batch of crops as float32 RGB in [0, 1], ``(n, size, size, 3)``.

    INTER_AREA when shrinking keeps small text-like detail (mask edges) without aliasing.
    """
    batch = np.empty((len(crops), size, size, 3), dtype=np.float32)
    for i, crop in enumerate(crops):
        interp = cv2.INTER_AREA if min(crop.shape[:2]) > size else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (size, size), interpolation=interp)
        if bgr:
            resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        batch[i] = resized
    batch *= 1.0 / 255.0
    return batch
