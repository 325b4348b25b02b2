"""Mask-classifier samples from ``../shared``: whole-image face photos plus real-scene crops.

Every sample knows its source image, so splits are by source (crops of one scene never
fall in two splits). Arrays are cached under ``.cache/`` per input size.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.crops import FACE_MARGIN, face_crop, square_crop_box, to_model_input
from models.mask.lowered import lowered_mask
from models.mask.painted import PAINT_VERSION, paint_mask
from models.shared_data import REPO_ROOT, detection_scenes, read_image, shared_dir
from models.splits import load_split

LABELS = ("with_mask", "without_mask", "incorrect_mask")
LABEL_INDEX = {name: i for i, name in enumerate(LABELS)}
MIN_CROP_PX = 12
"""Real-scene faces narrower than this are too small to say anything about; skipped."""
CACHE = REPO_ROOT / ".cache" / "mask-arrays"


@dataclass(frozen=True)
class Sample:
    image: Path
    label: int
    source: str  # data set name: masks-cls, masks-cls-synthetic, masks-worn, masks-det
    box: tuple[float, float, float, float] | None = None  # face box in a scene, else whole image
    bare: Path | None = None  # masks-lowered: the unmasked twin the mask is pasted onto, lower down


FOLDER_LABELS = {
    "masks-cls": {"with_mask": "with_mask", "without_mask": "without_mask"},
    "masks-cls-synthetic": {"with_mask": "with_mask", "without_mask": "without_mask"},
    "masks-worn": {"correct_mask": "with_mask", "incorrect_mask": "incorrect_mask"},
}


def folder_samples(dataset: str) -> list[Sample]:
    base = shared_dir() / "datasets" / dataset
    samples = []
    for folder, label in FOLDER_LABELS[dataset].items():
        for path in sorted((base / folder).glob("*.jpg")):
            samples.append(Sample(path, LABEL_INDEX[label], dataset))
    return samples


def scene_samples() -> list[Sample]:
    samples = []
    for scene in detection_scenes():
        for b in scene.boxes:
            if min(b.x2 - b.x1, b.y2 - b.y1) < MIN_CROP_PX or b.label not in LABEL_INDEX:
                continue
            samples.append(Sample(scene.image, LABEL_INDEX[b.label], "masks-det", (b.x1, b.y1, b.x2, b.y2)))
    return samples


def lowered_samples() -> list[Sample]:
    """Synthetic incorrect_mask faces, one per masks-cls-synthetic pair (see models.mask.lowered)."""
    base = shared_dir() / "datasets" / "masks-cls-synthetic"
    samples = []
    for masked in sorted((base / "with_mask").glob("with_mask_*.jpg")):
        bare = base / "without_mask" / masked.name.replace("with_mask", "without_mask")
        if bare.exists():
            samples.append(Sample(masked, LABEL_INDEX["incorrect_mask"], "masks-lowered", bare=bare))
    return samples


PAINTED_FROM = ("masks-cls", "masks-cls-synthetic", "masks-det")
"""Collections whose bare faces get masks painted on (``models.mask.painted``)."""
PAINTED = tuple(f"painted-{name}" for name in PAINTED_FROM)
PAINTED_INCORRECT_SHARE = 4
"""One painted face in this many wears its mask below the nose (``incorrect_mask``)."""


def painted_samples(collection: str) -> list[Sample]:
    """One painted face per bare face of ``collection``: a mask of a random kind, colour and
    fabric, worn right (``with_mask``) or, one in :data:`PAINTED_INCORRECT_SHARE`, below the
    nose (``incorrect_mask``). Which one is fixed by the face, so every run paints the same."""
    bare = scene_samples() if collection == "masks-det" else folder_samples(collection)
    out = []
    for s in bare:
        if s.label != LABEL_INDEX["without_mask"]:
            continue
        incorrect = _face_seed(s) % PAINTED_INCORRECT_SHARE == 0
        label = LABEL_INDEX["incorrect_mask" if incorrect else "with_mask"]
        out.append(Sample(s.image, label, f"painted-{collection}", s.box))
    return out


def _face_seed(s: Sample) -> int:
    return zlib.crc32(f"{s.image.parent.name}/{s.image.name}|{s.box}".encode())


def pair_number(sample: Sample) -> int:
    """N of a masks-cls-synthetic ``with_mask_N`` / ``without_mask_N`` twin."""
    return int(sample.image.stem.rsplit("_", 1)[-1])


def _split_key(sample: Sample) -> str:
    source = COLLECTION_OF.get(sample.source, sample.source)
    if source == "masks-det":
        return sample.image.name
    if source == "masks-cls-synthetic":
        # with_mask_N is without_mask_N with a mask pasted on: one source image, one split
        return f"pair_{pair_number(sample)}"
    return f"{sample.image.parent.name}/{sample.image.name}"


def source_images(dataset: str) -> dict[str, Path]:
    """Split key -> the image that stands for that source when near-duplicates are sought.

    A synthetic pair is known by its bare face: masks pasted from one template make
    different people's masked twins look alike.
    """
    if dataset == "masks-det":  # every scene, boxed faces or not: the detector's split too
        return {scene.image.name: scene.image for scene in detection_scenes()}
    out: dict[str, Path] = {}
    for s in folder_samples(dataset):
        if dataset == "masks-cls-synthetic" and s.label == LABEL_INDEX["without_mask"]:
            out[_split_key(s)] = s.image
        else:
            out.setdefault(_split_key(s), s.image)
    return out


NAMED_PERSON = re.compile(r"^\d+_\d+_([a-z]+)_\d+\.jpg$")
"""masks-cls files taken from RMFD are named after the person shown (``1_0_aidai_0099.jpg``)."""


def named_person(sample: Sample) -> str | None:
    """The person a masks-cls photo is named after, if its file name says."""
    match = NAMED_PERSON.match(sample.image.name)
    return match.group(1) if match else None


def people_not_in_training(dataset: str, part: str) -> np.ndarray:
    """Mask over ``split_samples(dataset)[part]``: True where the file does not name a
    person who also appears in train or val.

    The split is by photo, as the issue asks, so one person's other photos can sit in
    training; this subset says how much that flatters the figures.
    """
    split = split_samples(dataset)
    seen = {named_person(s) for p in ("train", "val") for s in split[p]} - {None}
    return np.array([named_person(s) not in seen for s in split[part]], dtype=bool)


COLLECTION_OF = {"masks-lowered": "masks-cls-synthetic", **{f"painted-{name}": name for name in PAINTED_FROM}}
"""Derived data sets belong to the collection they are made from: they use its split, and
leave training with it when it is held out (``models.mask.crossval``)."""


CLASS_WEIGHT_CAP = 5.0


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-label loss weights, inverse to frequency: incorrect_mask is rare. Capped, so its
    few faces cannot outweigh the rest."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(float)
    return np.minimum(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), CLASS_WEIGHT_CAP)


def split_samples(dataset: str) -> dict[str, list[Sample]]:
    """Samples of one data set by committed split."""
    if dataset == "masks-det":
        samples = scene_samples()
    elif dataset == "masks-lowered":
        samples = lowered_samples()
    elif dataset in PAINTED:
        samples = painted_samples(COLLECTION_OF[dataset])
    else:
        samples = folder_samples(dataset)
    base = COLLECTION_OF.get(dataset, dataset)
    split = load_split(base, lambda: source_images(base))
    part_of = {key: part for part, keys in split.items() for key in keys}
    out: dict[str, list[Sample]] = {part: [] for part in split}
    for s in samples:
        out[part_of[_split_key(s)]].append(s)
    return out


DATASETS = ("masks-cls", "masks-cls-synthetic", "masks-worn", "masks-det", "masks-lowered")
"""What the shipped recipe before issue 24 trained on; ``PAINTED`` adds the painted faces."""
COLLECTIONS = ("masks-cls", "masks-cls-synthetic", "masks-worn", "masks-det")
"""The real collections, each held out in turn by the cross-collection validation."""


def collection_datasets(collection: str, datasets: tuple[str, ...]) -> list[str]:
    """The data sets among ``datasets`` that are ``collection`` or made from it."""
    return [d for d in datasets if COLLECTION_OF.get(d, d) == collection]


def crop_widths(dataset: str, part: str, limit: int | None = None) -> np.ndarray:
    """Width in pixels of each face crop of a real collection's split, as it reaches the
    classifier (before resizing), in ``load_arrays``'s order: to report accuracy by face size."""
    from PIL import Image

    if dataset not in COLLECTIONS:
        raise ValueError(f"{dataset}: widths are for the real collections ({', '.join(COLLECTIONS)})")
    samples = split_samples(dataset)[part]
    if limit is not None:
        samples = _balanced_head(samples, limit)
    sizes: dict[Path, tuple[int, int]] = {}
    widths = []
    for s in samples:
        if s.image not in sizes:
            with Image.open(s.image) as img:
                sizes[s.image] = img.size
        w, h = sizes[s.image]
        if s.box is None:
            widths.append(w)
        else:
            x1, _, x2, _ = square_crop_box(s.box, w, h, FACE_MARGIN)
            widths.append(x2 - x1)
    return np.array(widths, dtype=np.int64)


def load_arrays(
    dataset: str, part: str, size: int, limit: int | None = None, margin: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 (n, size, size, 3) RGB, y int)`` of one split, cached on disk.

    ``margin``: real-scene faces cut with this margin instead of the daemon's (another
    camera's or collection's crops may be tighter or looser).
    """
    if margin is not None and dataset != "masks-det":
        raise ValueError("a crop margin applies to the real-scene crops (masks-det) only")
    if margin == FACE_MARGIN:
        margin = None  # the daemon's own crops: one cache file, not two alike
    samples = split_samples(dataset)[part]
    if limit is not None:
        samples = _balanced_head(samples, limit)
    tags = ("" if limit is None else f".l{limit}") + ("" if margin is None else f".m{margin:g}")
    cache = CACHE / f"{dataset}.{part}.{size}{tags}.{_fingerprint(samples)}.npz"
    if cache.exists():
        with np.load(cache) as z:
            return z["x"], z["y"]
    images, labels = [], []
    frames: dict[Path, Any] = {}
    for s in samples:
        crop = _read_crop(s, frames, FACE_MARGIN if margin is None else margin)
        if crop is None:
            continue  # a pair whose pasted mask was not found
        images.append((to_model_input([crop], size)[0] * 255.0 + 0.5).astype(np.uint8))
        labels.append(s.label)
    xs = np.stack(images) if images else np.empty((0, size, size, 3), dtype=np.uint8)
    ys = np.array(labels, dtype=np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=xs, y=ys)
    return xs, ys


def thin_painted_wrong(x: np.ndarray, y: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """A painted data set with only ``share`` of its faces worn wrong (``incorrect_mask``).

    Painted faces worn wrong pull masks worn right and bare faces towards the third class
    (``models/MASK_MODEL.md``); the recipes measure how many to keep. The same faces are
    dropped in every run, so a fold and a full training see the same set.
    """
    if share >= 1.0:
        return x, y
    wrong = np.flatnonzero(y == LABEL_INDEX["incorrect_mask"])
    dropped = wrong[np.random.default_rng(0).random(len(wrong)) >= share]
    kept = np.setdiff1d(np.arange(len(y)), dropped)
    return x[kept], y[kept]


def concat_arrays(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several ``(x, y)`` pairs of :func:`load_arrays` as one."""
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_folder(folder: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Face crops filed as ``folder/<label>/*.jpg`` (``maskwatch export reviewed``), as ``load_arrays`` gives them.

    The crops are the daemon's own (its margin), so they go to the model input as they are;
    folders that are not one of :data:`LABELS` (``not_a_face``) are not training data.
    """
    if not folder.is_dir():
        raise OSError(f"{folder} is not a folder of <label>/*.jpg face crops")
    images, labels = [], []
    for index, label in enumerate(LABELS):
        for path in sorted((folder / label).glob("*.jpg")):
            images.append((to_model_input([read_image(path)], size)[0] * 255.0 + 0.5).astype(np.uint8))
            labels.append(index)
    if not images:
        raise ValueError(f"{folder} holds no face crop under {', '.join(LABELS)}/")
    return np.stack(images), np.array(labels, dtype=np.int64)


def _fingerprint(samples: list[Sample]) -> str:
    """Names the cache after its samples, so a changed split never reads stale arrays."""
    text = "\n".join(
        f"{s.source}|{s.image.parent.name}/{s.image.name}|{s.label}|{s.box}|{s.bare and s.bare.name}"
        + (f"|paint{PAINT_VERSION}" if s.source in PAINTED else "")
        for s in samples
    )
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _read_crop(s: Sample, frames: dict[Path, Any], margin: float) -> np.ndarray | None:
    """The face as the daemon would crop it (BGR); ``frames`` caches the last scene read."""
    if s.bare is not None:  # masks-lowered: the pair's mask pulled down its bare twin
        rng = np.random.default_rng(pair_number(s))  # the same face every run
        return lowered_mask(read_image(s.image), read_image(s.bare), rng)
    if s.box is not None:
        if s.image not in frames:
            frames.clear()
            frames[s.image] = read_image(s.image)
        crop = face_crop(frames[s.image], s.box, margin)
    else:
        crop = read_image(s.image)
    if s.source in PAINTED:
        rng = np.random.default_rng(_face_seed(s))  # the same mask on the same face every run
        return paint_mask(crop, rng, lowered=s.label == LABEL_INDEX["incorrect_mask"])
    return crop


def _balanced_head(samples: list[Sample], limit: int) -> list[Sample]:
    """The first ``limit`` samples taken round-robin over labels (for quick CI runs)."""
    by_label: dict[int, list[Sample]] = {}
    for s in samples:
        by_label.setdefault(s.label, []).append(s)
    out: list[Sample] = []
    while len(out) < limit and any(by_label.values()):
        for items in by_label.values():
            if items and len(out) < limit:
                out.append(items.pop(0))
    return out
