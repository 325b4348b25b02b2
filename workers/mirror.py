"""Mirror test-time augmentation: each image is also detected flipped left to right, and the two
passes are averaged.

Why: a face the network is unsure of is often found in one orientation and missed in the other,
while a false box (a pattern on a shirt, a poster) is rarely found at the same place in both.
Averaging the two passes' scores, a face missing from one pass counting as 0, keeps the faces
both passes see above the boxes only one pass sees; on the val scenes this finds more faces at
equal false positives than either pass alone (``models/FACE_MODEL.md``, *Mirror averaging*),
for a second detector pass per image.
"""

from __future__ import annotations

from core.boxes import Box, iou

SAME_FACE_IOU = 0.55
"""A plain box and an unmirrored box of one face overlap at least this much."""


def unmirror(detections: list[tuple[Box, float]], width: int) -> list[tuple[Box, float]]:
    """Boxes found on the image flipped left to right, in the unflipped image's pixels."""
    return [((width - x2, y1, width - x1, y2), score) for (x1, y1, x2, y2), score in detections]


def average(plain: list[tuple[Box, float]], mirrored: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """One box per face from the two passes, scored by their mean (a pass without it scores 0).

    Each plain box pairs with the unpaired mirrored box it overlaps most (IoU >= ``SAME_FACE_IOU``),
    best-scored first; the pair's box is the two boxes weighted by their scores.
    """
    taken = [False] * len(mirrored)
    out: list[tuple[Box, float]] = []
    for box, score in sorted(plain, key=lambda d: -d[1]):
        best, best_j = SAME_FACE_IOU, -1
        for j, (other, _) in enumerate(mirrored):
            if not taken[j] and (overlap := iou(box, other)) >= best:
                best, best_j = overlap, j
        if best_j < 0:
            out.append((box, score / 2))
            continue
        taken[best_j] = True
        other, other_score = mirrored[best_j]
        weight = score + other_score
        merged = tuple((box[i] * score + other[i] * other_score) / weight for i in range(4))
        out.append(((merged[0], merged[1], merged[2], merged[3]), weight / 2))
    out.extend((box, score / 2) for j, (box, score) in enumerate(mirrored) if not taken[j])
    return out
