"""The weights the daemon runs, shipped inside the package (made in a checkout by
``maskwatch train face`` / ``train mask``) and found through ``importlib.resources``, so
an installed copy outside the checkout finds them too."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SHIPPED = ("face_detector.onnx", "face_detector.pt", "mask_classifier.onnx", "mask_thesis.onnx")


def shipped(name: str) -> Path:
    """The path of one shipped weights file."""
    return Path(str(files(__name__) / name))


def resolve_model_path(path: str | Path) -> Path:
    """A model path from the settings: absolute, or relative to the working directory, or
    the name of a shipped file (also as the ``models/NAME`` of older configs)."""
    given = Path(path)
    if given.is_absolute() or given.exists():
        return given
    if given.name in SHIPPED:
        return shipped(given.name)
    raise FileNotFoundError(f"model weights not found: {path} (neither a file nor one of {', '.join(SHIPPED)})")
