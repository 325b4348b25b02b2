"""Violation snapshots on disk: the full frame with the face boxed, and the face crop."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from storage.private import make_private_dirs, write_private
from workers.crops import face_crop


def _write_jpeg(path: Path, image: np.ndarray, params: list[int]) -> None:
    """Encode and write 0600 (``cv2.imwrite`` creates world-readable files and only warns when it fails)."""
    ok, data = cv2.imencode(".jpg", image, params)
    if not ok:
        raise OSError(f"cannot encode a JPEG for {path}")
    write_private(path, data.tobytes())


class SnapshotStore:
    def __init__(self, root: str | Path, jpeg_quality: int = 90):
        self.root = Path(root)
        self.quality = jpeg_quality

    def paths(self, camera: str, started_at: datetime, track_id: int) -> tuple[Path, Path]:
        day = self.root / camera / started_at.strftime("%Y-%m-%d")
        stem = f"{started_at.strftime('%H%M%S')}-{started_at.microsecond // 1000:03d}-t{track_id}"
        return day / f"{stem}.jpg", day / f"{stem}-face.jpg"

    def write(
        self,
        camera: str,
        started_at: datetime,
        track_id: int,
        frame: np.ndarray,
        box: tuple[float, float, float, float],
    ) -> tuple[str, str]:
        full, crop = self.paths(camera, started_at, track_id)
        make_private_dirs(full.parent)
        drawn = frame.copy()
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(drawn, (x1, y1), (x2, y2), (0, 0, 255), 2)
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        _write_jpeg(full, drawn, params)
        _write_jpeg(crop, face_crop(frame, box), params)
        return str(full), str(crop)

    @staticmethod
    def delete(*paths: str | None) -> None:
        for p in paths:
            if p:
                Path(p).unlink(missing_ok=True)
