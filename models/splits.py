"""Seeded, committed train/val/test splits by source image.

A split is written once as plain file lists under ``models/splits/`` and read back from
there, so every training and evaluation run uses the same images whatever the file
system's order. Crops of one scene always share that scene's split.
"""

from __future__ import annotations

import random
from pathlib import Path

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
SEED = 20261126
FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


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


def load_split(dataset: str, keys: list[str] | None = None) -> dict[str, list[str]]:
    """The committed split of ``dataset``; made from ``keys`` and written if absent."""
    files = {part: SPLITS_DIR / f"{dataset}.{part}.txt" for part in FRACTIONS}
    if all(f.exists() for f in files.values()):
        return {part: f.read_text().split() for part, f in files.items()}
    if keys is None:
        raise FileNotFoundError(f"no committed split for {dataset} in {SPLITS_DIR}")
    split = make_split(keys)
    SPLITS_DIR.mkdir(parents=True, exist_ok=True)
    for part, names in split.items():
        files[part].write_text("".join(f"{name}\n" for name in names))
    return split
