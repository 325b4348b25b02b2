"""Keep ultralytics from reaching the network: no hub weights, fonts or AMP-check models."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def ultralytics_offline(verbose: bool = False) -> None:
    """Set before the first ``import ultralytics``: offline mode, its settings file in a
    private temporary folder (or ``$MASKWATCH_CACHE_DIR``), never in the user's home."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    # never pip-install at run time (ultralytics asks for onnxruntime-gpu when it sees a GPU)
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    cache = os.environ.get("MASKWATCH_CACHE_DIR") or str(Path(tempfile.gettempdir()) / f"maskwatch-{os.getuid()}")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(cache) / "ultralytics"))
    os.environ.setdefault("YOLO_VERBOSE", str(verbose))
