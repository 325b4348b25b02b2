"""``maskwatch bench --cuda``: the face detector on the GPU against the CPU of the same box.

The daemon's default weights are opened on ``auto``, as the inference role opens them,
so this also shows which runtime really serves them there. It checks that the GPU finds
the faces the CPU finds and that ``scan`` reports the same violations on both, then
writes ``bench/results-cuda.json``. Needs a CUDA device; says so and exits 2 without one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from models.shared_data import REPO_ROOT, shared_dir

CLIP = "Gituatu_face-mask-detection_nomask.mp4"
SCAN_CLIPS = (CLIP, "diazoniclabs_yolov5-mask_mask.mp4", "yash42828_test_no_mask.mp4")
OUT = Path(__file__).resolve().parent / "results-cuda.json"
MIN_SCORE = 0.3
MATCH_IOU = 0.5


def _agreement(frames: list[Any], gpu: Any) -> dict[str, int]:
    """Faces the CPU finds (ONNX Runtime) that the GPU finds too, on the same frames."""
    from core.boxes import iou
    from workers.detector import FaceDetector

    cpu = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", device="cpu")
    found = {"cpu_faces": 0, "cuda_faces": 0, "cpu_faces_found_on_cuda": 0}
    for frame in frames:
        on_cpu = [box for box, score in cpu.detect([frame])[0] if score >= MIN_SCORE]
        on_gpu = [box for box, score in gpu.detect([frame])[0] if score >= MIN_SCORE]
        found["cpu_faces"] += len(on_cpu)
        found["cuda_faces"] += len(on_gpu)
        found["cpu_faces_found_on_cuda"] += sum(any(iou(a, b) >= MATCH_IOU for b in on_gpu) for a in on_cpu)
    return found


def _scan(videos: list[str], device: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "scan.yaml"
        config.write_text(f"cameras: []\ninference:\n  device: {device}\n")
        started = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "daemon.cli", "scan", "--json", "--config", str(config), *videos],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
    if res.returncode:
        raise RuntimeError(f"scan on {device} failed: {res.stderr[-2000:]}")
    found = [json.loads(line) for line in res.stdout.splitlines()]
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "violations": [[Path(v["video"]).name, v["label"], v["frame_id"]] for v in found],
    }


def run_cuda_bench() -> int:
    from bench.run import _machine
    from bench.stages import sample_frames, stage_timings
    from workers.detector import FaceDetector
    from workers.devices import resolve_device

    device = resolve_device("auto")
    if not device.startswith("cuda"):
        print("maskwatch bench --cuda: no CUDA device here (torch sees none)", file=sys.stderr)
        return 2
    import torch

    default = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", device="auto")
    results: dict[str, Any] = {
        "machine": f"{_machine()}, {torch.cuda.get_device_name(0)}, torch {torch.__version__}",
        "default_detector_on_auto": f"{default.device}, {default.weights.name}, {'fp16' if default.half else 'fp32'}",
    }
    frames = sample_frames(shared_dir() / "videos" / CLIP, 24)
    results["agreement"] = _agreement(frames, default)
    stages = stage_timings(frames, reps=10)
    results["stages"] = stages
    videos = [str(shared_dir() / "videos" / name) for name in SCAN_CLIPS]
    results["scan"] = {name: _scan(videos, name) for name in ("auto", "cpu")}
    summary = {
        "cuda_416_ms": round(stages["detect_cuda_416_ms"], 2),
        "cuda_416_b8_ms_per_frame": round(stages["detect_cuda_416_b8_ms_per_frame"], 2),
        "speedup_vs_cpu_onnx": round(stages["detect_onnx_416_ms"] / stages["detect_cuda_416_ms"], 1),
        "speedup_vs_cpu_torch": round(stages["detect_pt_416_ms"] / stages["detect_cuda_416_ms"], 1),
        "b8_speedup_vs_cpu_onnx": round(stages["detect_onnx_416_ms"] / stages["detect_cuda_416_b8_ms_per_frame"], 1),
        "faces_agree": f"{results['agreement']['cpu_faces_found_on_cuda']}/{results['agreement']['cpu_faces']}",
        "scan_same_violations": results["scan"]["auto"]["violations"] == results["scan"]["cpu"]["violations"],
    }
    results["summary"] = summary
    OUT.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0
