"""Pick the compute device and thread counts once, the same way for every model."""

from __future__ import annotations

import os


def cpu_threads(requested: int = 0) -> int:
    """Threads per model: as asked, else the cores this process may use."""
    if requested > 0:
        return requested
    return max(1, len(os.sched_getaffinity(0)))


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda:0`` when torch sees a GPU, else ``cpu``."""
    if device != "auto":
        return device
    try:
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def onnxruntime_has_cuda() -> bool:
    """Whether this ONNX Runtime build can run a model on a GPU (onnxruntime-gpu)."""
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()
