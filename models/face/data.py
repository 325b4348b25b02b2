"""The face-detection data set in YOLO format, built from ``masks-det`` (one class: face)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from models.shared_data import REPO_ROOT, Scene, detection_scenes
from models.splits import load_split

CACHE_DIR = REPO_ROOT / ".cache" / "faces-yolo"


def scene_split() -> dict[str, list[Scene]]:
    """``masks-det`` scenes by committed split (keyed by image file name)."""
    scenes = detection_scenes()
    split = load_split("masks-det", lambda: {s.image.name: s.image for s in scenes})
    by_name = {s.image.name: s for s in scenes}
    return {part: [by_name[n] for n in names if n in by_name] for part, names in split.items()}


def yolo_label_lines(scene: Scene) -> list[str]:
    """Normalised ``class cx cy w h`` lines, one per face, all faces class 0."""
    lines = []
    for b in scene.boxes:
        x1, y1 = max(0.0, b.x1), max(0.0, b.y1)
        x2, y2 = min(float(scene.width), b.x2), min(float(scene.height), b.y2)
        if x2 <= x1 or y2 <= y1:
            continue
        cx, cy = (x1 + x2) / 2 / scene.width, (y1 + y2) / 2 / scene.height
        w, h = (x2 - x1) / scene.width, (y2 - y1) / scene.height
        lines.append(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def write_yolo_dataset(
    out_dir: Path = CACHE_DIR,
    limit: int | None = None,
    extra_train: dict[Path, list[str]] | None = None,
) -> Path:
    """Lay out images (symlinks) and labels for ultralytics; returns the data yaml.

    ``limit`` keeps only the first N scenes of each split (CI's one-epoch run);
    ``extra_train`` adds pseudo-labelled images with their label lines.
    """
    for stale in ("images", "labels"):  # a smaller or older layout must not linger
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    split = scene_split()
    parts = {"train": split["train"], "val": split["val"]}
    for part, scenes in parts.items():
        img_dir, lbl_dir = out_dir / "images" / part, out_dir / "labels" / part
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        for scene in scenes[:limit]:
            _link(scene.image, img_dir / scene.image.name)
            (lbl_dir / f"{scene.image.stem}.txt").write_text("\n".join(yolo_label_lines(scene)) + "\n")
    for image, lines in (extra_train or {}).items():
        name = f"pl_{image.parent.name}_{image.name}"
        _link(image, out_dir / "images" / "train" / name)
        (out_dir / "labels" / "train" / f"{Path(name).stem}.txt").write_text("\n".join(lines) + "\n")
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(f"path: {out_dir}\ntrain: images/train\nval: images/val\nnames:\n  0: face\n")
    return data_yaml


def _link(src: Path, dst: Path) -> None:
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    os.symlink(src.resolve(), dst)
