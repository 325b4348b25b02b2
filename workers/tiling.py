"""Tiled detection: a wide view cut into overlapping windows, each detected at full detect size.

Why: the detector letterboxes a whole frame into ``detect_size`` pixels, so on a wide view a
face at the back of the crowd shrinks below what the network can find (a 24 px face in a
1280 px frame is under 8 px at 416). Detecting each window as well as the whole frame keeps
those faces at their own scale, for ``len(windows) + 1`` detector passes. The whole-frame
pass still finds the faces too big for one window; boxes a window cut in two are dropped,
because the overlap gives each such face whole to a neighbouring window or to the whole frame.
"""

from __future__ import annotations

import math

from core.boxes import Box, iou

Window = tuple[int, int, int, int]

OVERLAP = 0.2
"""Each window is this much wider and taller than its share of the frame."""
EDGE_PX = 2.0
"""A box this close to a window's inner edge was cut by it."""
SAME_FACE_IOU = 0.5
SAME_FACE_IOS = 0.8
"""Intersection over the smaller box, for boxes of two passes of similar size: the whole frame's
box of a small face and a window's box of it jitter more than IoU 0.5 allows."""
SIMILAR_AREA = 0.5
"""Boxes of one face from two passes are at least this close in area; a small box inside a big
one (an eye, a face on a poster in the background) is not the same face."""


def tile_windows(width: int, height: int, tiles: int, detect_size: int = 416) -> list[Window]:
    """Overlapping windows covering the frame, ``tiles`` along its longer side.

    The shorter side gets as many as keep the windows near square. No window is narrower than
    half the detect size: smaller ones would only blow pixels up (and a blown-up blank finds
    faces), so a frame too small for ``tiles`` gets fewer, and one under the detect size none.
    ``tiles <= 1`` is no tiling.
    """
    least = max(1, detect_size // 2)
    long_side, short_side = max(width, height), min(width, height)
    along_long = min(tiles, long_side // least)
    if along_long <= 1:
        return []
    along_short = max(1, min(round(along_long * short_side / long_side), short_side // least))
    cols, rows = (along_long, along_short) if width >= height else (along_short, along_long)
    return [(x0, y0, x1, y1) for y0, y1 in _spans(height, rows) for x0, x1 in _spans(width, cols)]


def _spans(length: int, count: int) -> list[tuple[int, int]]:
    if count <= 1:
        return [(0, length)]
    size = min(length, math.ceil(length / count * (1 + OVERLAP)))
    step = (length - size) / (count - 1)
    return [(round(i * step), round(i * step) + size) for i in range(count)]


def from_window(
    detections: list[tuple[Box, float]], window: Window, frame_w: int, frame_h: int
) -> list[tuple[Box, float]]:
    """A window's boxes in frame pixels, without those its inner edges cut."""
    x0, y0, x1, y1 = window
    kept = []
    for (bx1, by1, bx2, by2), score in detections:
        cut = (
            (x0 > 0 and bx1 <= EDGE_PX)
            or (y0 > 0 and by1 <= EDGE_PX)
            or (x1 < frame_w and bx2 >= x1 - x0 - EDGE_PX)
            or (y1 < frame_h and by2 >= y1 - y0 - EDGE_PX)
        )
        if not cut:
            kept.append(((bx1 + x0, by1 + y0, bx2 + x0, by2 + y0), score))
    return kept


def merge(passes: list[list[tuple[Box, float]]]) -> list[tuple[Box, float]]:
    """One box per face across the passes (whole frame, then each window): the best-scored wins.

    Within one pass the detector's own suppression has already spoken, so only boxes of two
    different passes are compared.
    """
    tagged = [(box, score, p) for p, dets in enumerate(passes) for box, score in dets]
    kept: list[tuple[Box, float, int]] = []
    for box, score, p in sorted(tagged, key=lambda d: -d[1]):
        if all(q == p or not _same_face(box, other) for other, _, q in kept):
            kept.append((box, score, p))
    return [(box, score) for box, score, _ in kept]


def _same_face(a: Box, b: Box) -> bool:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return False
    if iou(a, b) >= SAME_FACE_IOU:
        return True
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    similar = min(area_a, area_b) >= SIMILAR_AREA * max(area_a, area_b)
    return similar and inter / min(area_a, area_b) >= SAME_FACE_IOS
