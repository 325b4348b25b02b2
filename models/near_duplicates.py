"""Near-duplicate source images, found so that every copy of one photo or scene shares a split.

The collections in ``../shared`` hold the same photo more than once (re-encoded, resized,
re-cropped; masks-cls's ``augmented_image_*`` are its other photos mirrored, turned and
zoomed) and the same street scene a few frames apart. Split by file name alone, a test
face can be its own training twin, and the test figures then measure memory.

A tiny grayscale thumbnail, zero-mean and unit-norm, is compared with every other by
correlation (a matrix product): cheap for a few thousand images, blind to JPEG and
resizing. Each image is also compared mirrored and, for face photos, turned and zoomed
over a small grid of views, against the others as they are. Over-joining is harmless (a
joined group only moves to one split); missing a copy is not. The thresholds are where
the pairs looked at stopped being one source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

THUMB_PX = 24
VIEW_PX = 72
"""Working size of the turned and zoomed views, shrunk to :data:`THUMB_PX` after the warp."""
SAME_SOURCE = 0.9
"""Thumbnail correlation from which two face photos count as one source. Below it, tight
frontal crops of different people start to chain (at 0.87 one masks-cls group had 54)."""
SAME_SOURCE_TURNED = 0.93
"""The same for a photo turned or zoomed against another: the best of many views lifts
unrelated frontal faces too (at 0.90-0.93 most pairs looked at were two people; from 0.93
nearly all were one photo turned up to 20 degrees)."""
SAME_SCENE = 0.85
"""The same for whole scenes: masks-det pairs down to 0.82 were frames of one scene or one
person's selfie series; different scenes correlate far less than close-up faces do."""
TURNS_DEG = tuple(range(-24, 25, 4))
ZOOMS = (0.9, 1.0, 1.12)


def _normalised(image: np.ndarray) -> np.ndarray:
    """Flat float32 ``THUMB_PX``² thumbnail, zero-mean, unit-norm."""
    v = cv2.resize(image, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    v -= v.mean()
    return v / (float(np.linalg.norm(v)) + 1e-6)


def _gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return image


def _turned_views(images: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Per view (turn x zoom x mirror), the thumbnails of all ``images`` seen that way."""
    small = [cv2.resize(g, (VIEW_PX, VIEW_PX), interpolation=cv2.INTER_AREA) for g in images]
    sides = (small, [cv2.flip(s, 1) for s in small])
    centre = (VIEW_PX / 2, VIEW_PX / 2)
    for turn in TURNS_DEG:
        for zoom in ZOOMS:
            warp = cv2.getRotationMatrix2D(centre, float(turn), zoom)
            for side in sides:
                yield np.stack(
                    [
                        _normalised(cv2.warpAffine(s, warp, (VIEW_PX, VIEW_PX), borderMode=cv2.BORDER_REPLICATE))
                        for s in side
                    ]
                )


def near_duplicate_groups(
    images: Mapping[str, Path], threshold: float = SAME_SOURCE, turned_threshold: float | None = None
) -> list[list[str]]:
    """Keys whose images correlate at ``threshold`` or more as they are or mirrored (and at
    ``turned_threshold`` turned or zoomed, if given), joined transitively; groups of 2+."""
    keys = sorted(images)
    if len(keys) < 2:
        return []
    grays = [_gray(images[k]) for k in keys]
    thumbs = np.stack([_normalised(g) for g in grays])
    mirrored = np.stack([_normalised(cv2.flip(g, 1)) for g in grays])
    same = (thumbs @ thumbs.T >= threshold) | (mirrored @ thumbs.T >= threshold)
    if turned_threshold is not None:
        for views in _turned_views(grays):
            same |= views @ thumbs.T >= turned_threshold
    _, component = connected_components(csr_matrix(same), directed=False)
    groups: dict[int, list[str]] = {}
    for key, c in zip(keys, component, strict=True):
        groups.setdefault(int(c), []).append(key)
    return sorted(g for g in groups.values() if len(g) > 1)


def keep_groups_together(split: dict[str, list[str]], groups: list[list[str]]) -> dict[str, list[str]]:
    """Move each group spanning parts into the first part (in ``split``'s order) that holds one of them.

    Moving towards training only shrinks test and val, so a model trained before the move
    has still seen none of the faces left in them.
    """
    order = list(split)
    part_of = {key: part for part, keys in split.items() for key in keys}
    for group in groups:
        present = [k for k in group if k in part_of]
        if not present:
            continue
        first = min((part_of[k] for k in present), key=order.index)
        for key in present:
            part_of[key] = first
    return {part: sorted(k for k, p in part_of.items() if p == part) for part in order}
