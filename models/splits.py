"""Seeded, committed train/val/test splits by source image.

A split is written once as plain file lists under ``data/splits/`` and read back from
there, so every training and evaluation run uses the same images whatever the file
system's order. Crops of one scene always share that scene's split, and so do copies of
one photo or frames of one scene under other file names (:mod:`models.near_duplicates`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path

from models.near_duplicates import (
    SAME_SCENE,
    SAME_SOURCE,
    SAME_SOURCE_TURNED,
    keep_groups_together,
    near_duplicate_groups,
)

SPLITS_DIR = Path(__file__).resolve().parent.parent / "data" / "splits"
SEED = 20261126
FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
SCENE_DATASETS = {"masks-det"}
"""Data sets of whole scenes (near-duplicates sought at :data:`SAME_SCENE`), not face photos."""


def make_split(keys: list[str], seed: int = SEED) -> dict[str, list[str]]:
    """Shuffle sorted keys with a fixed seed and cut them by :data:`FRACTIONS`."""
    ordered = sorted(set(keys))
    random.Random(seed).shuffle(ordered)
    n = len(ordered)
    n_train = round(n * FRACTIONS["train"])
    n_val = round(n * FRACTIONS["val"])
    parts = {
        "train": ordered[:n_train],
        "val": ordered[n_train : n_train + n_val],
        "test": ordered[n_train + n_val :],
    }
    return {name: sorted(part) for name, part in parts.items()}


def source_groups(dataset: str, sources: Mapping[str, Path]) -> list[list[str]]:
    """Split keys of ``dataset`` that are copies of one photo or frames of one scene."""
    if dataset in SCENE_DATASETS:
        return near_duplicate_groups(sources, SAME_SCENE)
    return near_duplicate_groups(sources, SAME_SOURCE, turned_threshold=SAME_SOURCE_TURNED)


def load_split(dataset: str, sources: Callable[[], Mapping[str, Path]] | None = None) -> dict[str, list[str]]:
    """The committed split of ``dataset``; made from ``sources()`` and written if absent.

    ``sources`` gives split key -> one image of that source, so that near-duplicate
    sources land in one split; it is called only when the split is made.
    """
    files = {part: SPLITS_DIR / f"{dataset}.{part}.txt" for part in FRACTIONS}
    if all(f.exists() for f in files.values()):
        return {part: f.read_text().split() for part, f in files.items()}
    if sources is None:
        raise FileNotFoundError(f"no committed split for {dataset} in {SPLITS_DIR}")
    images = sources()
    split = keep_groups_together(make_split(list(images)), source_groups(dataset, images))
    SPLITS_DIR.mkdir(parents=True, exist_ok=True)
    for part, names in split.items():
        files[part].write_text("".join(f"{name}\n" for name in names))
    return split
