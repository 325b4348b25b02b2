"""Face boxes in image pixels, and how much two of them overlap."""

from __future__ import annotations

Box = tuple[float, float, float, float]
"""``(x1, y1, x2, y2)`` in pixels of the image the box was found in."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 for boxes that do not touch or have no area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
