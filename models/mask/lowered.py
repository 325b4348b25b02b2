"""Synthetic ``incorrect_mask`` faces: the pasted mask of a masks-cls-synthetic pair pulled down.

``masks-cls-synthetic`` holds each face twice, bare (``without_mask_N``) and with a mask
pasted on (``with_mask_N``). Where the two differ is the mask; pasting that region back
lower on the bare face uncovers the nose (or nose and mouth), which is what a mask worn
below the nose or on the chin looks like. The real data has only a few hundred such faces.
"""

from __future__ import annotations

import cv2
import numpy as np

MASK_DIFF = 40
"""Per-pixel difference (0-255, any channel) above which a pixel belongs to the pasted mask."""
DROP = (0.25, 0.6)
"""How far the mask moves down, as a fraction of its height: below the nose .. on the chin."""
MIN_MASK_AREA = 0.08
"""A pair whose mask covers less of the image than this is not a usable pair."""


def pasted_mask(masked: np.ndarray, bare: np.ndarray) -> np.ndarray | None:
    """Filled binary region (uint8 0/1) where the mask was pasted, or None if none is found."""
    if masked.shape != bare.shape:
        return None
    diff = np.abs(masked.astype(np.int16) - bare.astype(np.int16)).max(axis=2)
    region = (diff > MASK_DIFF).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, kernel)
    region = cv2.morphologyEx(region, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, [largest], -1, 1, thickness=-1)
    if filled.mean() < MIN_MASK_AREA:
        return None
    return filled


def lowered_mask(masked: np.ndarray, bare: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The bare face with the pair's mask pasted lower down (BGR like the inputs)."""
    region = pasted_mask(masked, bare)
    if region is None:
        return None
    rows = np.flatnonzero(region.any(axis=1))
    drop = int(round((rows[-1] - rows[0] + 1) * rng.uniform(*DROP)))
    if drop < 1:
        return None
    out = bare.copy()
    keep = region[:-drop].astype(bool)
    out[drop:][keep] = masked[:-drop][keep]
    return out
