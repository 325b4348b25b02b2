"""Per-stage timings: detector per backend and size, classifier per batch, JPEG, Redis."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.shared_data import REPO_ROOT


def _ms(fn: Callable[[], Any], reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def sample_frames(clip: Path, n: int, width: int = 640) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(clip))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or n
    frames = []
    for i in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i * total // n)
        ok, frame = cap.read()
        if ok:
            h, w = frame.shape[:2]
            frames.append(cv2.resize(frame, (width, round(h * width / w))) if w > width else frame)
    return frames


def _cycle(det: Any, frames: list[np.ndarray], tiles: int = 1) -> Callable[[], Any]:
    """Detect on the next frame each call (a still frame would flatter any cache)."""
    state = {"i": 0}

    def call() -> Any:
        state["i"] += 1
        return det.detect([frames[state["i"] % len(frames)]], tiles=[tiles])

    return call


def stage_timings(frames: list[np.ndarray], reps: int) -> dict[str, float]:
    from core.messages import decode_jpeg, encode_jpeg
    from workers.classifier import MaskClassifier
    from workers.detector import FaceDetector
    from workers.devices import resolve_device

    out: dict[str, float] = {}
    for weights, sizes in (("face_detector.onnx", (320, 416, 512)), ("face_detector.pt", (416,))):
        for size in sizes:
            det = FaceDetector(REPO_ROOT / "workers" / "weights" / weights, imgsz=size, device="cpu")
            out[f"detect_{Path(weights).suffix[1:]}_{size}_ms"] = _ms(_cycle(det, frames), reps)
    mirrored = FaceDetector(
        REPO_ROOT / "workers" / "weights" / "face_detector.onnx", imgsz=416, device="cpu", mirror=True
    )
    out["detect_onnx_416_mirror_ms"] = _ms(_cycle(mirrored, frames), reps)
    # a wide view in windows (detect_tiles: 3) on the clip's frames at 1280 px, as such a camera sends them
    wide = [cv2.resize(f, (1280, round(f.shape[0] * 1280 / f.shape[1]))) for f in frames[:6]]
    det = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", imgsz=416, device="cpu")
    out["detect_onnx_416_1280px_ms"] = _ms(_cycle(det, wide), reps)
    out["detect_onnx_416_1280px_tiles3_ms"] = _ms(_cycle(det, wide, tiles=3), reps)
    if resolve_device("auto").startswith("cuda"):
        # the daemon's default weights on the GPU, one frame and a batch of eight per call
        det = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", imgsz=416, device="auto")
        out["detect_cuda_416_ms"] = _ms(_cycle(det, frames), reps * 3)
        batch = frames[:8]
        out["detect_cuda_416_b8_ms_per_frame"] = _ms(lambda: det.detect(batch), reps * 3) / len(batch)
    clf = MaskClassifier(REPO_ROOT / "workers" / "weights" / "mask_classifier.onnx")
    crops = [f[: f.shape[0] // 3, : f.shape[1] // 4] for f in frames] * 32
    out["classify_b1_ms_per_face"] = _ms(lambda: clf.classify(crops[:1]), reps * 3)
    out["classify_b32_ms_per_face"] = _ms(lambda: clf.classify(crops[:32]), reps) / 32
    jpeg = encode_jpeg(frames[0])
    out["jpeg_encode_ms"] = _ms(lambda: encode_jpeg(frames[0]), reps * 3)
    out["jpeg_decode_ms"] = _ms(lambda: decode_jpeg(jpeg), reps * 3)
    if shutil.which("redis-server"):
        out["redis_frame_roundtrip_ms"] = _redis_roundtrip(frames[0], reps * 3)
    return out


def _redis_roundtrip(frame: np.ndarray, reps: int) -> float:
    import tempfile

    from bench.loopback.procs import redis_server
    from config.runtime import TransportSettings
    from core.messages import Frame
    from workers.transport import open_transport

    server = redis_server(Path(tempfile.mkdtemp())).start()
    try:
        t = open_transport(TransportSettings(type="redis", redis_url=f"redis://127.0.0.1:{server.port}/0"), ["b"])
        counter = iter(range(1, 10**9))

        def roundtrip() -> None:
            t.publish_frame(Frame("b", next(counter), time.time(), frame))
            t.ack_frames(t.read_frames("bench", 1, 1.0))

        ms = _ms(roundtrip, reps)
        t.close()
        return ms
    finally:
        server.stop()
