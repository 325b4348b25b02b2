"""Near-duplicate source images, found so that every copy of one photo or scene shares a split.

The collections in ``../shared`` hold the same photo more than once (re-encoded, resized,
re-cropped) and the same street scene a few frames apart. Split by file name alone, a
test face can be its own training twin, and the test figures then measure memory.

A tiny grayscale thumbnail, zero-mean and unit-norm, is compared with every other by
correlation (one matrix product): cheap for a few thousand images, blind to JPEG and
resizing. Over-joining is harmless (a joined group only moves to one split); missing a
copy is not. The thresholds are where the pairs looked at stopped being one source.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

THUMB_PX = 24
SAME_SOURCE = 0.9
"""Thumbnail correlation from which two face photos count as one source. Below it, tight
frontal crops of different people start to chain (at 0.87 one masks-cls group had 54)."""
SAME_SCENE = 0.85
"""The same for whole scenes: masks-det pairs down to 0.82 were frames of one scene or one
person's selfie series; different scenes correlate far less than close-up faces do."""


def thumbnail(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    v = cv2.resize(image, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    v -= v.mean()
    return v / (float(np.linalg.norm(v)) + 1e-6)


def near_duplicate_groups(images: Mapping[str, Path], threshold: float = SAME_SOURCE) -> list[list[str]]:
    """Keys whose images correlate at ``threshold`` or more, joined transitively; groups of 2+."""
    keys = sorted(images)
    if len(keys) < 2:
        return []
    thumbs = np.stack([thumbnail(images[k]) for k in keys])
    _, component = connected_components(csr_matrix(thumbs @ thumbs.T >= threshold), directed=False)
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
