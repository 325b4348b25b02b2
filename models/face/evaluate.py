"""``maskwatch eval faces``: the shipped detector against the teachers on the val split.

AP50 (all-point interpolated), recall at score 0.5 for all faces and for faces at least
24 px wide, false positives at score 0.5, and ms per frame, all in one run on the same
images. Then the operating points: ours at the daemon's own face threshold, and at the
threshold where our false positives equal each teacher's at 0.5, so that recall is
compared at equal false positives, not at one score that means different things to each model.
Writes the tables into ``models/FACE_MODEL.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from config.cameras import Thresholds
from core.boxes import Box, iou
from models.face.data import scene_split
from models.face.teachers import RetinaFace, YuNet
from models.shared_data import REPO_ROOT

REPORT = REPO_ROOT / "models" / "FACE_MODEL.md"
RESULTS = REPO_ROOT / "models" / "face" / "eval.json"
OPERATING_SCORE = 0.5
BIG_FACE_PX = 24
THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.5)
"""Where the operating-point table reads ours, around the daemon's default."""
WIDE_GRID = (3, 2)
"""Val scenes per wide view, across and down: 1400 x 800 px (rows laid like bricks), wider than
twice the detect size."""
WIDE_CELL = 400


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
    big_faces: int = 0
    scored: list[tuple[float, bool, bool]] = field(default_factory=list, repr=False)
    """Every detection: score, matched a face, matched a face >= ``BIG_FACE_PX``."""

    def at(self, threshold: float) -> tuple[float, int]:
        """Recall of faces >= ``BIG_FACE_PX`` and false positives at ``threshold``."""
        kept = [(hit, big) for score, hit, big in self.scored if score >= threshold]
        return sum(big for _, big in kept) / max(self.big_faces, 1), sum(not hit for hit, _ in kept)

    def threshold_for(self, false_positives: int) -> float:
        """The lowest score threshold with at most ``false_positives`` false positives."""
        wrong = sorted((score for score, hit, _ in self.scored if not hit), reverse=True)
        if len(wrong) <= false_positives:
            return min((score for score, _, _ in self.scored), default=0.0)
        return float(np.nextafter(np.float32(wrong[false_positives]), np.float32(1.0)))

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "scored"}


def evaluate_detections(
    preds: list[list[tuple[Box, float]]], truths: list[list[Box]], name: str, ms: float
) -> FaceMetrics:
    scored: list[tuple[float, bool, bool]] = []
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
            scored.append((score, hit, hit and gts[best_j][2] - gts[best_j][0] >= BIG_FACE_PX))
            if score >= OPERATING_SCORE:
                if hit:
                    tp_op += 1
                    tp_big += gts[best_j][2] - gts[best_j][0] >= BIG_FACE_PX
                else:
                    fp_op += 1
    scored.sort(key=lambda s: -s[0])
    hits = np.array([h for _, h, _ in scored], dtype=float)
    tp = np.cumsum(hits)
    fp = np.cumsum(1 - hits)
    recall = tp / max(n_gt, 1)
    precision = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    ap = float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
    return FaceMetrics(
        name, ap, tp_op / max(n_gt, 1), tp_big / max(n_big, 1), fp_op, ms, len(truths), n_gt, n_big, scored
    )


SHIPPED_THRESHOLD = Thresholds().face
"""The daemon's default face score (``thresholds.face``)."""


def operating_points(results: list[FaceMetrics]) -> list[dict[str, Any]]:
    """Ours at the shipped threshold and at each teacher's false positives at 0.5."""
    ours = [r for r in results if r.name.startswith("maskwatch")]
    teachers = [r for r in results if not r.name.startswith("maskwatch")]
    rows = []
    for r in ours:
        recall_big, fps = r.at(SHIPPED_THRESHOLD)
        rows.append(
            {
                "model": r.name,
                "against": "shipped threshold",
                "threshold": SHIPPED_THRESHOLD,
                "recall_big": recall_big,
                "false_positives": fps,
            }
        )
        for t in teachers:
            threshold = r.threshold_for(t.false_positives)
            recall_big, fps = r.at(threshold)
            rows.append(
                {
                    "model": r.name,
                    "against": f"{t.name} at 0.5",
                    "threshold": threshold,
                    "recall_big": recall_big,
                    "false_positives": fps,
                    "teacher_recall_big": t.recall_big,
                    "teacher_false_positives": t.false_positives,
                }
            )
    return rows


def _first_image(det: Any, tiles: int = 1) -> Callable[[np.ndarray], list[tuple[Box, float]]]:
    def detect(img: np.ndarray) -> list[tuple[Box, float]]:
        return list(det.detect([img], tiles=[tiles])[0])

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


def threshold_rows(results: list[FaceMetrics]) -> list[dict[str, Any]]:
    """Ours at each of ``THRESHOLDS``: recall of faces >= 24 px and false positives."""
    rows = []
    for r in results:
        if r.name.startswith("maskwatch"):
            for t in THRESHOLDS:
                recall_big, fps = r.at(t)
                rows.append({"model": r.name, "threshold": t, "recall_big": recall_big, "false_positives": fps})
    return rows


def wide_views(
    images: list[np.ndarray], truths: list[list[Box]], grid: tuple[int, int] = WIDE_GRID, cell: int = WIDE_CELL
) -> tuple[list[np.ndarray], list[list[Box]]]:
    """Val scenes side by side, each at its own pixels: a wide view with a crowd in every part.

    The labelled scenes are about 400 px wide, so no labelled frame is wider than twice the
    detect size; a mosaic of them is, with every face still labelled. Every other row is
    shifted by half a cell, like bricks, so that scenes do not line up with the windows of a
    tiled pass and faces fall across their edges. A scene larger than its cell is scaled down
    to fit (a handful are).
    """
    cols, rows = grid
    per = cols * rows
    views: list[np.ndarray] = []
    view_truths: list[list[Box]] = []
    for start in range(0, len(images) - per + 1, per):
        canvas = np.full((rows * cell, cols * cell + cell // 2, 3), 114, dtype=np.uint8)
        boxes: list[Box] = []
        for k in range(per):
            img, scene_boxes = images[start + k], truths[start + k]
            scale = min(1.0, cell / max(img.shape[:2]))
            if scale < 1.0:
                img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            r, c = divmod(k, cols)
            ox, oy = c * cell + (r % 2) * (cell // 2), r * cell
            canvas[oy : oy + img.shape[0], ox : ox + img.shape[1]] = img
            boxes += [
                (x1 * scale + ox, y1 * scale + oy, x2 * scale + ox, y2 * scale + oy) for x1, y1, x2, y2 in scene_boxes
            ]
        views.append(canvas)
        view_truths.append(boxes)
    return views, view_truths


def evaluate_wide_views(images: list[np.ndarray], truths: list[list[Box]]) -> list[dict[str, Any]]:
    """The shipped ONNX detector on wide views: whole frame at 416, 512 and 832 px, and tiled at 416."""
    from workers.detector import FaceDetector

    path = REPO_ROOT / "workers" / "weights" / "face_detector.onnx"
    views, view_truths = wide_views(images, truths)
    if not views or not path.exists():
        return []
    rows = []
    for size, tiles in ((416, 1), (512, 1), (832, 1), (416, 2), (416, 3)):
        det = FaceDetector(path, imgsz=size, device="cpu")
        name = f"@{size}" + (f", {tiles} tiles across" if tiles > 1 else ", whole frame")
        preds, ms = _run(_first_image(det, tiles), views)
        r = evaluate_detections(preds, view_truths, name, ms)
        recall_big, fps = r.at(SHIPPED_THRESHOLD)
        rows.append(
            {
                "setting": name,
                "views": len(views),
                "ap50": r.ap50,
                "recall_big": recall_big,
                "false_positives": fps,
                "ms_per_frame": ms,
            }
        )
        print(
            f"wide view {name:24s} AP50 {r.ap50:.3f} at {SHIPPED_THRESHOLD}: recall>=24px {recall_big:.3f} "
            f"FP {fps} {ms:.1f} ms/frame"
        )
    return rows


def evaluate_faces(write_report: bool = True, limit: int | None = None) -> list[FaceMetrics]:
    from workers.detector import FaceDetector

    scenes = scene_split()["val"][:limit]
    images: list[Any] = [cv2.imread(str(s.image)) for s in scenes]
    truths = [[(b.x1, b.y1, b.x2, b.y2) for b in s.boxes] for s in scenes]
    contenders: list[tuple[str, Callable[[np.ndarray], list[tuple[Box, float]]]]] = []
    runs = (
        ("face_detector.onnx", 416, False),
        ("face_detector.onnx", 416, True),
        ("face_detector.onnx", 512, False),
        ("face_detector.pt", 416, False),
    )
    for weights, size, mirror in runs:
        path = REPO_ROOT / "workers" / "weights" / weights
        if path.exists():
            det = FaceDetector(path, imgsz=size, device="cpu", mirror=mirror)
            name = f"maskwatch {weights} @{size}" + (", mirror averaged" if mirror else "")
            contenders.append((name, _first_image(det)))
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
    points = operating_points(results)
    for p in points:
        than = (
            f" (teacher {p['teacher_recall_big']:.3f}, FP {p['teacher_false_positives']})"
            if "teacher_recall_big" in p
            else ""
        )
        print(
            f"{p['model']:32s} at {p['against']:24s} threshold {p['threshold']:.3f} "
            f"recall>=24px {p['recall_big']:.3f} FP {p['false_positives']}{than}"
        )
    by_threshold = threshold_rows(results)
    for row in by_threshold:
        print(
            f"{row['model']:32s} at {row['threshold']:.2f}: recall>=24px {row['recall_big']:.3f} "
            f"FP {row['false_positives']}"
        )
    wide = evaluate_wide_views(images, truths)
    if write_report and limit is None:  # a quick run's figures are not the val split's
        RESULTS.write_text(
            json.dumps(
                {
                    "detectors": [r.summary() for r in results],
                    "operating_points": points,
                    "thresholds": by_threshold,
                    "wide_views": wide,
                },
                indent=1,
            )
        )
        _write_report(results, points, by_threshold, wide)
    return results


def _write_report(
    results: list[FaceMetrics],
    points: list[dict[str, Any]],
    by_threshold: list[dict[str, Any]],
    wide: list[dict[str, Any]],
) -> None:
    table = [
        "| detector | AP50 | recall @0.5 | recall @0.5, faces >= 24 px | false positives @0.5 | ms / frame (CPU, batch 1) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        table.append(
            f"| {r.name} | {r.ap50:.3f} | {r.recall:.3f} | {r.recall_big:.3f} | {r.false_positives} | {r.ms_per_frame:.1f} |"
        )
    operating = [
        f"Ours at the daemon's threshold ({SHIPPED_THRESHOLD:g}) and at the threshold where our false positives "
        "equal each teacher's at 0.5 (at equal false positives our precision is as high or higher).\n",
        "| model | against | threshold | recall, faces >= 24 px | false positives | teacher's recall >= 24 px |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in points:
        teacher = f"{p['teacher_recall_big']:.3f}" if "teacher_recall_big" in p else "-"
        operating.append(
            f"| {p['model']} | {p['against']} | {p['threshold']:.3f} | {p['recall_big']:.3f} | "
            f"{p['false_positives']} | {teacher} |"
        )
    thresholds = [
        "| model | " + " | ".join(f"{t:.2f}" for t in THRESHOLDS) + " |",
        "| --- |" + " --- |" * len(THRESHOLDS),
    ]
    for model in dict.fromkeys(row["model"] for row in by_threshold):
        cells = [f"{row['recall_big']:.3f} / {row['false_positives']}" for row in by_threshold if row["model"] == model]
        thresholds.append(f"| {model} | " + " | ".join(cells) + " |")
    cols, rows = WIDE_GRID
    wide_rows = [
        f"{cols} x {rows} val scenes side by side, rows shifted like bricks "
        f"({cols * WIDE_CELL + WIDE_CELL // 2} x {rows * WIDE_CELL} px, "
        f"{wide[0]['views'] if wide else 0} views), the shipped ONNX detector "
        f"at the daemon's threshold ({SHIPPED_THRESHOLD:g}).\n",
        "| setting | AP50 | recall, faces >= 24 px | false positives | ms / frame (CPU) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for w in wide:
        wide_rows.append(
            f"| {w['setting']} | {w['ap50']:.3f} | {w['recall_big']:.3f} | {w['false_positives']} | "
            f"{w['ms_per_frame']:.1f} |"
        )
    stages = [
        json.loads(line)
        for line in (REPO_ROOT / "models" / "face" / "stages.jsonl").read_text().splitlines()
        if line.strip()
    ]
    stage_rows = [
        "| stage | warm start | epochs | input px | zoom gain | train images | hours | mAP50 (ultralytics val) | shipped |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in stages:
        stage_rows.append(
            f"| {s['stage']} | {s['warm_start']} | {s['epochs']} | {s.get('imgsz', '-')} | {s.get('scale', 0.5)} | "
            f"{s['train_images']} | {s.get('hours', '-')} | "
            f"{s['metrics'].get('metrics/mAP50(B)', float('nan')):.3f} | {'yes' if s.get('shipped', True) else 'no'} |"
        )
    text = REPORT.read_text() if REPORT.exists() else ""
    marker = "<!-- eval -->"
    head = text.split(marker)[0] if marker in text else text
    REPORT.write_text(
        head.rstrip() + f"\n\n{marker}\n## Evaluation (`maskwatch eval faces`, val split: "
        f"{results[0].images} scenes, {results[0].faces} faces)\n\n"
        + "\n".join(table)
        + "\n\n### Operating points\n\n"
        + "\n".join(operating)
        + "\n\n### By threshold (recall of faces >= 24 px / false positives)\n\n"
        + "\n".join(thresholds)
        + "\n\n### Wide views\n\n"
        + "\n".join(wide_rows)
        + "\n\n## Training stages\n\n"
        + "\n".join(stage_rows)
        + "\n"
    )
