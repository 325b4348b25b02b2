"""Keep ultralytics from reaching the network: no hub weights, fonts or AMP-check models."""

from __future__ import annotations

import os

from models.shared_data import REPO_ROOT


def ultralytics_offline(verbose: bool = False) -> None:
    """Set before the first ``import ultralytics``: offline mode, settings under ``.cache``."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    # never pip-install at run time (ultralytics asks for onnxruntime-gpu when it sees a GPU)
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO_ROOT / ".cache" / "ultralytics"))
    os.environ.setdefault("YOLO_VERBOSE", str(verbose))
