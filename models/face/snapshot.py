"""Ship the running stage's best weights now (a stage outlives a working session)."""

from __future__ import annotations

import sys
from pathlib import Path

from models.face.train import SHIPPED_IMGSZ, SHIPPED_PT, export_onnx


def ship(best: Path) -> None:
    from ultralytics.utils.torch_utils import strip_optimizer

    strip_optimizer(str(best), str(SHIPPED_PT))
    export_onnx(SHIPPED_PT, SHIPPED_IMGSZ)


if __name__ == "__main__":
    ship(Path(sys.argv[1]))
