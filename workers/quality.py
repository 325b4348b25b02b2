"""The face-quality gate: faces too small or too blurred are tracked but not classified."""

from __future__ import annotations

import cv2
import numpy as np


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the crop at a fixed 64 px scale (size-independent)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    gray = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def passes_gate(crop: np.ndarray, box_width: float, min_face_px: int, min_sharpness: float) -> bool:
    if box_width < min_face_px or crop.size == 0:
        return False
    return sharpness(crop) >= min_sharpness
