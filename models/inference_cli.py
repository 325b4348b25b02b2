"""``maskwatch classify`` and ``maskwatch detect``: the daemon's stages on files."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from models.shared_data import REPO_ROOT

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}


def _model(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def iter_images(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            yield p


def classify_paths(paths: list[str], as_json: bool, model: str, batch: int = 32) -> int:
    from workers.classifier import MaskClassifier

    clf = MaskClassifier(_model(model))
    failures = 0
    files = [p for p in iter_images(paths) if p.suffix.lower() not in VIDEO_SUFFIXES]
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        images, names = [], []
        for f in chunk:
            img = cv2.imread(str(f))
            if img is None:
                print(f"maskwatch classify: cannot read {f}", file=sys.stderr)
                failures += 1
                continue
            images.append(img)
            names.append(f)
        for f, (label, score) in zip(names, clf.classify(images)):
            if as_json:
                print(json.dumps({"image": str(f), "label": label, "score": round(score, 6)}))
            else:
                print(f"{f}\t{label}\t{score:.3f}")
    return 1 if failures else 0


def _frames(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    if path.suffix.lower() in VIDEO_SUFFIXES:
        cap = cv2.VideoCapture(str(path))
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield f"{path}#{index}", frame
            index += 1
        cap.release()
    else:
        img = cv2.imread(str(path))
        if img is None:
            raise OSError(f"cannot read {path}")
        yield str(path), img


def detect_paths(paths: list[str], as_json: bool, detector: str, classifier: str, imgsz: int) -> int:
    from daemon.config.cameras import CameraSettings
    from daemon.config.runtime import InferenceSettings
    from workers.inference import InferenceStage
    from workers.messages import Frame

    settings = InferenceSettings(
        detector=str(_model(detector)),
        classifier=str(_model(classifier)),
        detect_size=imgsz,
        motion_gate=False,
        batch=1,
    )
    # the daemon's stage, with the gate's thresholds relaxed so every box above 0.05 is reported
    camera = CameraSettings(name="detect", url="-", min_face_px=8, min_sharpness=0.0, thresholds={"face": 0.05})
    stage = InferenceStage(settings, [camera])
    failures = 0
    for path in iter_images(paths):
        try:
            for name, frame in _frames(path):
                det = stage.process([Frame("detect", 0, 0.0, frame)])[0]
                faces = [
                    {
                        "box": [round(v, 1) for v in f.box],
                        "score": round(f.score, 4),
                        "label": f.label,
                        "label_score": round(f.label_score, 4),
                    }
                    for f in det.faces
                ]
                if as_json:
                    print(json.dumps({"image": name, "faces": faces}))
                else:
                    print(f"{name}: {sum(1 for f in det.faces if f.score >= 0.45)} face(s)")
        except OSError as exc:
            print(f"maskwatch detect: {exc}", file=sys.stderr)
            failures += 1
    return 1 if failures else 0
