"""The inference stage: YOLO faces -> quality gate -> mask classifier, batched across cameras."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from config.cameras import CameraSettings
from config.runtime import InferenceSettings
from core.crops import face_crop
from core.messages import Detections, Face, Frame
from workers.classifier import MaskClassifier
from workers.detector import FaceDetector
from workers.quality import passes_gate
from workers.transport.base import Transport
from workers.weights import resolve_model_path

log = logging.getLogger("maskwatch.inference")
MOTION_THRESHOLD = 1.5  # mean absolute difference (0-255) of a 64x36 gray thumbnail
MOTION_REFRESH_S = 2.0  # run the detector at least this often even on a still scene


class InferenceStage:
    def __init__(
        self,
        settings: InferenceSettings,
        cameras: list[CameraSettings],
        detector: FaceDetector | None = None,
        classifier: MaskClassifier | None = None,
    ):
        self.settings = settings
        self.cameras = {c.name: c for c in cameras}
        self.detector = detector or FaceDetector(
            str(resolve_model_path(settings.detector)),
            settings.detect_size,
            settings.device,
            settings.threads,
            mirror=settings.detect_mirror,
        )
        self.classifier = classifier or MaskClassifier(
            str(resolve_model_path(settings.classifier)), settings.threads, self.detector.device
        )
        warm_up_s = self._warm_up()
        log.info(
            "face detector %s on %s%s; mask classifier on ONNX Runtime's %s; warmed up in %.1f s",
            self.detector.weights.name,
            self.detector.device,
            " (fp16)" if self.detector.half else "",
            self.classifier.provider,
            warm_up_s,
        )
        self._last: dict[str, tuple[np.ndarray, float, tuple[Face, ...]]] = {}
        self.frames_processed = 0
        self.frames_skipped_static = 0
        self.latency_observer: Callable[[float], None] | None = None
        self.frames_observer: Callable[[list[Frame]], None] | None = None

    def _warm_up(self) -> float:
        """Pay the first calls' lazy set-up (CUDA kernels, allocations) before the first camera frame.

        Otherwise the first batch on a GPU takes seconds, and the frames that queue up meanwhile
        overflow the transport's bound and are dropped.
        """
        started = time.perf_counter()
        blank = np.zeros((360, 640, 3), dtype=np.uint8)
        for n in sorted({1, self.settings.batch}):
            self.detector.detect([blank] * n)
        self.classifier.classify([blank[:64, :64]] * 2)
        return time.perf_counter() - started

    def _thumb(self, image: np.ndarray) -> np.ndarray:
        return cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (64, 36), interpolation=cv2.INTER_AREA)

    def process(self, frames: list[Frame]) -> list[Detections]:
        started = time.perf_counter()
        todo: list[int] = []
        reused: dict[int, tuple[Face, ...]] = {}
        thumbs: dict[int, np.ndarray] = {}
        for i, f in enumerate(frames):
            if not self.settings.motion_gate:
                todo.append(i)
                continue
            thumb = self._thumb(f.image)
            thumbs[i] = thumb
            prev = self._last.get(f.camera)
            if (
                prev is not None
                and f.captured_at - prev[1] < MOTION_REFRESH_S
                and float(cv2.absdiff(thumb, prev[0]).mean()) < MOTION_THRESHOLD
            ):
                reused[i] = prev[2]
                self.frames_skipped_static += 1
            else:
                todo.append(i)
        tiles = [self.cameras[c].detect_tiles if (c := frames[i].camera) in self.cameras else 1 for i in todo]
        found = self.detector.detect([frames[i].image for i in todo], tiles=tiles) if todo else []
        crops: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []
        per_frame: dict[int, list[Face]] = {}
        for i, faces in zip(todo, found):
            frame = frames[i]
            cam = self.cameras.get(frame.camera)
            h, w = frame.image.shape[:2]
            kept: list[Face] = []
            for box, score in faces:
                if cam is not None and cam.roi is not None:
                    cx, cy = (box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h
                    x1, y1, x2, y2 = cam.roi
                    if not (x1 <= cx <= x2 and y1 <= cy <= y2):
                        continue
                kept.append(Face(box, score))
                if cam is not None and score < cam.thresholds.face:
                    continue  # low-score boxes travel for analysis but are not classified
                crop = face_crop(frame.image, box)
                min_px = cam.min_face_px if cam else 0
                min_sharp = cam.min_sharpness if cam else 0.0
                if passes_gate(crop, box[2] - box[0], min_px, min_sharp):
                    crops.append(crop)
                    owners.append((i, len(kept) - 1))
            per_frame[i] = kept
        for (i, j), (label, p) in zip(owners, self.classifier.classify(crops)):
            face = per_frame[i][j]
            per_frame[i][j] = Face(face.box, face.score, label, p)
        out = []
        for i, frame in enumerate(frames):
            judged = tuple(per_frame[i]) if i in per_frame else reused[i]
            if i in thumbs and i in per_frame:
                self._last[frame.camera] = (thumbs[i], frame.captured_at, judged)
            out.append(Detections(frame.camera, frame.frame_id, frame.captured_at, judged, frame.image, frame.session))
        self.frames_processed += len(frames)
        if self.frames_observer is not None:
            self.frames_observer(frames)
        if self.latency_observer is not None and frames:
            self.latency_observer(time.perf_counter() - started)
        return out


def run_inference(
    stage: InferenceStage,
    transport: Transport,
    stop: threading.Event,
    consumer: str,
    on_error: Callable[[Exception], None] | None = None,
    beat: Callable[[], None] | None = None,
) -> None:
    """Read batches across cameras, publish detections, then acknowledge the frames.

    ``beat`` is called once per round, so a wedged loop shows in the process's health.
    """
    while not stop.is_set():
        if beat is not None:
            beat()
        try:
            deliveries = transport.read_frames(consumer, stage.settings.batch, block_s=0.5)
            if not deliveries:
                continue
            for det in stage.process([d.frame for d in deliveries]):
                transport.publish_detections(det)
            transport.ack_frames(deliveries)
        except Exception as exc:  # noqa: BLE001 - a transport outage must not end the worker
            log.warning("inference: %s; retrying", exc)
            if on_error is not None:
                on_error(exc)
            stop.wait(1.0)
