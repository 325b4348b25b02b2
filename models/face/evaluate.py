"""``maskwatch eval faces``: the shipped detector against the teachers on the val split.

AP50 (all-point interpolated), recall at score 0.5 for all faces and for faces at least
24 px wide, false positives at score 0.5, and ms per frame, all in one run on the same
images. Writes the table into ``models/FACE_MODEL.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from models.face.data import scene_split
from models.face.teachers import Box, RetinaFace, YuNet, iou
from models.shared_data import REPO_ROOT

REPORT = REPO_ROOT / "models" / "FACE_MODEL.md"
RESULTS = REPO_ROOT / "models" / "face" / "eval.json"
OPERATING_SCORE = 0.5
BIG_FACE_PX = 24


@dataclass
class FaceMetrics:
    name: str
    ap50: float
    recall: float
    recall_big: float
    false_positives: int
    ms_per_frame: float
    images: int
    faces: int


def evaluate_detections(
    preds: list[list[tuple[Box, float]]], truths: list[list[Box]], name: str, ms: float
) -> FaceMetrics:
    scored: list[tuple[float, bool]] = []
    tp_op = fp_op = tp_big = 0
    n_gt = sum(len(t) for t in truths)
    n_big = sum(1 for t in truths for b in t if b[2] - b[0] >= BIG_FACE_PX)
    for dets, gts in zip(preds, truths):
        used = [False] * len(gts)
        for box, score in sorted(dets, key=lambda d: -d[1]):
            best, best_j = 0.0, -1
            for j, g in enumerate(gts):
                if not used[j] and (o := iou(box, g)) > best:
                    best, best_j = o, j
            hit = best >= 0.5
            if hit:
                used[best_j] = True
            scored.append((score, hit))
            if score >= OPERATING_SCORE:
                if hit:
                    tp_op += 1
                    tp_big += gts[best_j][2] - gts[best_j][0] >= BIG_FACE_PX
                else:
                    fp_op += 1
    scored.sort(key=lambda s: -s[0])
    hits = np.array([h for _, h in scored], dtype=float)
    tp = np.cumsum(hits)
    fp = np.cumsum(1 - hits)
    recall = tp / max(n_gt, 1)
    precision = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    ap = float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
    return FaceMetrics(name, ap, tp_op / max(n_gt, 1), tp_big / max(n_big, 1), fp_op, ms, len(truths), n_gt)


def _first_image(det: Any) -> Callable[[np.ndarray], list[tuple[Box, float]]]:
    def detect(img: np.ndarray) -> list[tuple[Box, float]]:
        return list(det.detect([img])[0])

    return detect


def _run(
    detect: Callable[[np.ndarray], list[tuple[Box, float]]], images: list[np.ndarray]
) -> tuple[list[list[tuple[Box, float]]], float]:
    detect(images[0])  # warm-up
    out = []
    started = time.perf_counter()
    for img in images:
        out.append(detect(img))
    return out, (time.perf_counter() - started) * 1000 / len(images)


def evaluate_faces(write_report: bool = True, limit: int | None = None) -> list[FaceMetrics]:
    from workers.detector import FaceDetector

    scenes = scene_split()["val"][:limit]
    images: list[Any] = [cv2.imread(str(s.image)) for s in scenes]
    truths = [[(b.x1, b.y1, b.x2, b.y2) for b in s.boxes] for s in scenes]
    contenders: list[tuple[str, Callable[[np.ndarray], list[tuple[Box, float]]]]] = []
    for weights, size in (("face_detector.onnx", 416), ("face_detector.onnx", 512), ("face_detector.pt", 416)):
        path = REPO_ROOT / "workers" / "weights" / weights
        if path.exists():
            det = FaceDetector(path, imgsz=size, device="cpu")
            contenders.append((f"maskwatch {weights} @{size}", _first_image(det)))
    for teacher in (YuNet(), YuNet(upscale=2.0), RetinaFace()):
        contenders.append((teacher.name, teacher.detect))
    results = []
    for name, fn in contenders:
        preds, ms = _run(fn, images)
        results.append(evaluate_detections(preds, truths, name, ms))
        r = results[-1]
        print(
            f"{name:32s} AP50 {r.ap50:.3f} recall {r.recall:.3f} recall>=24px {r.recall_big:.3f} "
            f"FP@0.5 {r.false_positives} {r.ms_per_frame:.1f} ms/frame"
        )
    if write_report:
        RESULTS.write_text(json.dumps([r.__dict__ for r in results], indent=1))
        _write_report(results)
    return results


def _write_report(results: list[FaceMetrics]) -> None:
    table = [
        "| detector | AP50 | recall @0.5 | recall @0.5, faces >= 24 px | false positives @0.5 | ms / frame (CPU, batch 1) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        table.append(
            f"| {r.name} | {r.ap50:.3f} | {r.recall:.3f} | {r.recall_big:.3f} | {r.false_positives} | {r.ms_per_frame:.1f} |"
        )
    stages = [
        json.loads(line)
        for line in (REPO_ROOT / "models" / "face" / "stages.jsonl").read_text().splitlines()
        if line.strip()
    ]
    stage_rows = [
        "| stage | warm start | epochs | train images | mAP50 (ultralytics val) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in stages:
        stage_rows.append(
            f"| {s['stage']} | {s['warm_start']} | {s['epochs']} | {s['train_images']} | "
            f"{s['metrics'].get('metrics/mAP50(B)', float('nan')):.3f} |"
        )
    text = REPORT.read_text() if REPORT.exists() else ""
    marker = "<!-- eval -->"
    head = text.split(marker)[0] if marker in text else text
    REPORT.write_text(
        head.rstrip() + f"\n\n{marker}\n## Evaluation (`maskwatch eval faces`, val split: "
        f"{results[0].images} scenes, {results[0].faces} faces)\n\n"
        + "\n".join(table)
        + "\n\n## Training stages\n\n"
        + "\n".join(stage_rows)
        + "\n"
    )
