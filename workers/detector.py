"""The face detector: a YOLO model run through ultralytics (.pt, .onnx or TensorRT .engine)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from workers.devices import cpu_threads, onnxruntime_has_cuda, resolve_device
from workers.mirror import average, unmirror
from workers.offline import ultralytics_offline
from workers.tiling import Box, from_window, merge, tile_windows

MIN_SCORE = 0.05

log = logging.getLogger(__name__)


def weights_for_device(weights: Path, device: str) -> Path:
    """The weights that will really run on ``device``.

    ONNX weights reach a GPU only through onnxruntime-gpu; with the plain onnxruntime
    ultralytics quietly falls back to the CPU. Then the torch twin (same stem, ``.pt``)
    runs on the GPU instead, in half precision.
    """
    if not device.startswith("cuda") or weights.suffix != ".onnx" or onnxruntime_has_cuda():
        return weights
    twin = weights.with_suffix(".pt")
    if twin.exists():
        log.info("face detector: %s on %s through torch (onnxruntime has no CUDA provider)", twin.name, device)
        return twin
    log.warning("face detector runs on the CPU: onnxruntime has no CUDA provider and %s has no .pt twin", weights)
    return weights


class FaceDetector:
    def __init__(
        self, weights: str | Path, imgsz: int = 416, device: str = "auto", threads: int = 0, mirror: bool = False
    ):
        """``mirror`` also detects every image flipped left to right and averages the two passes
        (``workers.mirror``): more faces found at equal false positives, for twice the detector's time."""
        ultralytics_offline()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(cpu_threads(threads))
        path = Path(weights)
        if not path.exists():
            raise FileNotFoundError(f"face detector weights not found: {path}")
        self.device = resolve_device(device)
        path = weights_for_device(path, self.device)
        self.weights = path
        self.imgsz = imgsz
        self.model = YOLO(str(path), task="detect")
        self.half = self.device.startswith("cuda") and path.suffix == ".pt"
        self.mirror = mirror

    def detect(
        self, images: list[np.ndarray], min_score: float = MIN_SCORE, tiles: list[int] | None = None
    ) -> list[list[tuple[Box, float]]]:
        """Faces per image (BGR) as ``(x1, y1, x2, y2), score`` in that image's pixels.

        ``tiles[i] > 1`` also detects image ``i`` in overlapping windows (``workers.tiling``);
        every window of every image goes through the network in the same call.
        """
        if not images:
            return []
        if tiles is not None and len(tiles) != len(images):
            raise ValueError(f"{len(tiles)} tile counts for {len(images)} images")
        inputs = list(images)
        windows: list[tuple[int, tuple[int, int, int, int]]] = []  # (image index, window)
        for i, count in enumerate(tiles or []):
            h, w = images[i].shape[:2]
            for window in tile_windows(w, h, count, self.imgsz):
                x0, y0, x1, y1 = window
                inputs.append(np.ascontiguousarray(images[i][y0:y1, x0:x1]))
                windows.append((i, window))
        found = self._predict(inputs, min_score)
        passes: list[list[list[tuple[Box, float]]]] = [[dets] for dets in found[: len(images)]]
        for (i, window), dets in zip(windows, found[len(images) :]):
            h, w = images[i].shape[:2]
            passes[i].append(from_window(dets, window, w, h))
        # an image without windows keeps the detector's own boxes, whatever shares its batch
        return [merge(p) if len(p) > 1 else p[0] for p in passes]

    def _predict(self, images: list[np.ndarray], min_score: float) -> list[list[tuple[Box, float]]]:
        if not self.mirror:
            return self._network(images, min_score)
        # a face at min_score in the average may be just under it in one pass
        found = self._network(images + [np.ascontiguousarray(img[:, ::-1]) for img in images], min_score / 2)
        n = len(images)
        averaged = [average(found[i], unmirror(found[n + i], img.shape[1])) for i, img in enumerate(images)]
        return [[d for d in dets if d[1] >= min_score] for dets in averaged]

    def _network(self, images: list[np.ndarray], min_score: float) -> list[list[tuple[Box, float]]]:
        results = self.model.predict(
            images,
            imgsz=self.imgsz,
            conf=min_score,
            iou=0.5,
            device=self.device,
            half=self.half,
            verbose=False,
            max_det=300,
        )
        out: list[list[tuple[Box, float]]] = []
        for res in results:
            boxes: Any = getattr(res, "boxes", None)
            xyxy = boxes.xyxy.cpu().numpy() if boxes is not None else np.zeros((0, 4))
            conf = boxes.conf.cpu().numpy() if boxes is not None else np.zeros((0,))
            out.append([((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(s)) for b, s in zip(xyxy, conf)])
        return out
