"""Pseudo-labels for the face detector: photos and video frames boxed where two teachers agree.

YuNet and RetinaFace both run on each image; a face is kept where their boxes overlap
(IoU >= 0.5, both scores >= 0.6) and the box is their mean. An image with a confident
face that only one teacher sees is left out whole, so no real face is taught as
background. Labels go to ``data/face/pseudo_labels.jsonl`` (committed), and video
frames are cut into ``.cache`` when the data set is laid out.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.boxes import Box, iou
from models.face.teachers import RetinaFace, YuNet
from models.shared_data import REPO_ROOT, shared_dir
from models.splits import SEED, load_split

LABELS_FILE = Path(__file__).resolve().parents[2] / "data" / "face" / "pseudo_labels.jsonl"
FRAMES_DIR = REPO_ROOT / ".cache" / "faces-pseudo"
KEEP, SURE, MATCH = 0.6, 0.85, 0.5


def agree(a: list[tuple[Box, float]], b: list[tuple[Box, float]]) -> list[Box] | None:
    a = [x for x in a if x[1] >= KEEP]
    b = [x for x in b if x[1] >= KEEP]
    used: set[int] = set()
    kept: list[Box] = []
    unmatched_sure = False
    for box_a, score_a in sorted(a, key=lambda x: -x[1]):
        best, best_j = 0.0, -1
        for j, (box_b, _) in enumerate(b):
            if j not in used and (o := iou(box_a, box_b)) > best:
                best, best_j = o, j
        if best >= MATCH:
            used.add(best_j)
            box_b = b[best_j][0]
            kept.append(tuple((u + v) / 2 for u, v in zip(box_a, box_b)))  # type: ignore[arg-type]
        elif score_a >= SURE:
            unmatched_sure = True
    unmatched_sure |= any(s >= SURE for j, (_, s) in enumerate(b) if j not in used)
    return None if unmatched_sure or not kept else kept


def _photo_sources() -> list[tuple[str, Path]]:
    rng = random.Random(SEED)
    out: list[tuple[str, Path]] = []
    base = shared_dir() / "datasets"
    for dataset, count in (("masks-cls", 700), ("masks-worn", 120)):
        keys = load_split(dataset)["train"]
        for key in rng.sample(keys, min(count, len(keys))):
            out.append((dataset, base / dataset / key))
    return out


def _video_frames(every_s: float = 1.0) -> list[tuple[str, str, int, np.ndarray]]:
    frames = []
    for video in sorted((shared_dir() / "videos").iterdir()):
        cap = cv2.VideoCapture(str(video))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, round(fps * every_s))
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                frames.append(("videos", video.name, index, frame))
            index += 1
        cap.release()
    return frames


def make_pseudo_labels() -> dict[str, dict[str, int]]:
    yunet, retina = YuNet(), RetinaFace()
    records: list[dict[str, Any]] = []
    stats: dict[str, Counter[str]] = {}
    for source, path in _photo_sources():
        img = cv2.imread(str(path))
        st = stats.setdefault(source, Counter())
        st["images_seen"] += 1
        if img is None:
            continue
        boxes = agree(yunet.detect(img), retina.detect(img))
        if boxes:
            st["images_kept"] += 1
            st["boxes"] += len(boxes)
            records.append({"source": source, "image": str(path.relative_to(shared_dir())), "boxes": boxes})
    for source, video, index, frame in _video_frames():
        st = stats.setdefault(source, Counter())
        st["images_seen"] += 1
        boxes = agree(yunet.detect(frame), retina.detect(frame))
        if boxes:
            st["images_kept"] += 1
            st["boxes"] += len(boxes)
            records.append({"source": source, "video": video, "frame": index, "boxes": boxes})
    with LABELS_FILE.open("w") as f:
        for r in records:
            r["boxes"] = [[round(v, 1) for v in b] for b in r["boxes"]]
            f.write(json.dumps(r) + "\n")
    summary = {k: dict(v) for k, v in stats.items()}
    print(json.dumps(summary, indent=1))
    return summary


def pseudo_label_images() -> dict[Path, list[str]]:
    """Image path -> YOLO label lines, cutting committed video frames into ``.cache``."""
    out: dict[Path, list[str]] = {}
    if not LABELS_FILE.exists():
        return out
    records = [json.loads(line) for line in LABELS_FILE.read_text().splitlines() if line.strip()]
    wanted: dict[str, set[int]] = {}
    for r in records:
        if "video" in r:
            wanted.setdefault(r["video"], set()).add(r["frame"])
    FRAMES_DIR.mkdir(parents=True, exist_ok=True)
    for video, indices in wanted.items():
        missing = [i for i in indices if not (FRAMES_DIR / f"{Path(video).stem}_{i:05d}.jpg").exists()]
        if not missing:
            continue
        cap = cv2.VideoCapture(str(shared_dir() / "videos" / video))
        index = 0
        while missing and index <= max(missing):
            ok, frame = cap.read()
            if not ok:
                break
            if index in indices:
                cv2.imwrite(str(FRAMES_DIR / f"{Path(video).stem}_{index:05d}.jpg"), frame)
            index += 1
        cap.release()
    for r in records:
        path = (
            (FRAMES_DIR / f"{Path(r['video']).stem}_{r['frame']:05d}.jpg")
            if "video" in r
            else shared_dir() / r["image"]
        )
        img = cv2.imread(str(path))
        if img is None:
            continue
        h, w = img.shape[:2]
        lines = []
        for x1, y1, x2, y2 in r["boxes"]:
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if x2 > x1 and y2 > y1:
                lines.append(
                    f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
                )
        out[path] = lines
    return out


if __name__ == "__main__":
    make_pseudo_labels()
