"""Where the read-only training and test data lives, and how to read its annotations.

The data stays in ``../shared`` (never copied into the repository); everything that
needs it resolves the folder through :func:`shared_dir`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared data folder: ``$MASKWATCH_SHARED`` or ``../shared`` beside the checkout."""
    env = os.environ.get("MASKWATCH_SHARED")
    path = Path(env) if env else REPO_ROOT.parent / "shared"
    if not path.is_dir():
        raise FileNotFoundError(f"shared data folder not found at {path}; set MASKWATCH_SHARED to its location")
    return path


def read_image(path: Path) -> np.ndarray:
    """A BGR image; an unreadable file is an error, not a silent ``None``."""
    image = cv2.imread(str(path))
    if image is None:
        raise OSError(f"cannot read {path}")
    return image


@dataclass(frozen=True)
class BoxAnnotation:
    """One boxed face of a detection scene, in pixel coordinates."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Scene:
    image: Path
    width: int
    height: int
    boxes: tuple[BoxAnnotation, ...]


DET_LABELS = {"with_mask": "with_mask", "without_mask": "without_mask", "mask_weared_incorrect": "incorrect_mask"}


def read_voc(xml_path: Path, images_dir: Path) -> Scene:
    """Parse one PASCAL VOC file of ``masks-det`` (labels mapped to our vocabulary)."""
    root = ET.parse(xml_path).getroot()
    size = root.find("size")
    assert size is not None, f"{xml_path}: no <size>"
    width = int(size.findtext("width", "0"))
    height = int(size.findtext("height", "0"))
    boxes = []
    for obj in root.iter("object"):
        bnd = obj.find("bndbox")
        if bnd is None:
            continue
        coords = [float((bnd.findtext(k) or "0").strip()) for k in ("xmin", "ymin", "xmax", "ymax")]
        name = (obj.findtext("name") or "").strip()
        boxes.append(BoxAnnotation(DET_LABELS.get(name, name), *coords))
    filename = (root.findtext("filename") or xml_path.with_suffix(".jpg").name).strip()
    return Scene(images_dir / filename, width, height, tuple(boxes))


def detection_scenes(root: Path | None = None) -> list[Scene]:
    """All scenes of ``masks-det``, sorted by file name."""
    base = (root or shared_dir()) / "datasets" / "masks-det"
    return [read_voc(p, base / "images") for p in sorted((base / "annotations").glob("*.xml"))]
