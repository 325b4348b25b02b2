"""``maskwatch classify`` and ``maskwatch detect``: the daemon's stages on files.

A file that cannot be read is reported (stderr, and an error object with ``--json``) and the
rest go on: exit 2 if a path does not exist, 1 if a file could not be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from daemon.cli.common import media_exit_code, report_media_error
from workers.sources import MediaError
from workers.weights import resolve_model_path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}


def read_image(path: Path) -> np.ndarray:
    """BGR pixels of an image file (grey and alpha converted), or ``FileNotFoundError``/``MediaError``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        raise MediaError(f"{path}: a video, not an image")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise MediaError(f"{path}: cannot read it as an image")
    return image


def iter_images(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            yield p


def classify_paths(paths: list[str], as_json: bool, model: str, batch: int = 32) -> int:
    from workers.classifier import MaskClassifier

    clf = MaskClassifier(resolve_model_path(model))
    missing = unreadable = 0
    # a folder's videos are not face crops and are left out; a video named on the command line is an error
    files = [p for p in iter_images(paths) if Path(p) in map(Path, paths) or p.suffix.lower() not in VIDEO_SUFFIXES]
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        images, names = [], []
        for f in chunk:
            try:
                images.append(read_image(f))
            except (FileNotFoundError, MediaError) as exc:
                missing += isinstance(exc, FileNotFoundError)
                unreadable += isinstance(exc, MediaError)
                report_media_error("classify", str(f), exc, as_json)
                continue
            names.append(f)
        for f, (label, score) in zip(names, clf.classify(images)):
            if as_json:
                print(json.dumps({"image": str(f), "label": label, "score": round(score, 6)}))
            else:
                print(f"{f}\t{label}\t{score:.3f}")
    return media_exit_code(missing, unreadable)


def _frames(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        yield str(path), read_image(path)
        return
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(f"{path}: cannot be opened as a video")
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield f"{path}#{index}", frame
            index += 1
        if index == 0:
            raise MediaError(f"{path}: no frame could be decoded")
    finally:
        cap.release()


def detect_paths(
    paths: list[str],
    as_json: bool,
    detector: str,
    classifier: str,
    imgsz: int | None,
    tiles: int = 1,
    mirror: bool | None = None,
) -> int:
    from config.cameras import CameraSettings
    from config.runtime import InferenceSettings
    from core.messages import Frame
    from workers.inference import InferenceStage

    settings = InferenceSettings(
        detector=str(resolve_model_path(detector)),
        classifier=str(resolve_model_path(classifier)),
        detect_size=imgsz or InferenceSettings().detect_size,
        detect_mirror=InferenceSettings().detect_mirror if mirror is None else mirror,
        motion_gate=False,
        batch=1,
    )
    # the daemon's stage, with the gate's thresholds relaxed so every box above 0.05 is reported
    camera = CameraSettings(
        name="detect", url="-", min_face_px=1, min_sharpness=0.0, thresholds={"face": 0.05}, detect_tiles=tiles
    )
    stage = InferenceStage(settings, [camera])
    missing = unreadable = 0
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
        except (FileNotFoundError, MediaError) as exc:
            missing += isinstance(exc, FileNotFoundError)
            unreadable += isinstance(exc, MediaError)
            report_media_error("detect", str(path), exc, as_json)
    return media_exit_code(missing, unreadable)
