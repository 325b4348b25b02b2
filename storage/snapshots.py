"""Violation snapshots on disk: the full frame with the face boxed, and the face crop.

A snapshot that cannot be written (a read-only or full disk) never costs the violation:
the row and its alerts are written without paths and with ``snapshot_error``; the JPEGs
are kept in memory (a few dozen at most) and written again at the violation's close.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from core.crops import face_crop
from core.metrics import SNAPSHOT_ERRORS
from storage.private import make_private_dirs, write_private

log = logging.getLogger("maskwatch.snapshots")

KEEP_UNWRITTEN = 64
"""Snapshots kept in memory for the retry at close (encoded JPEGs, some 100 kB each)."""
LOG_EVERY_SECONDS = 60.0
"""One log line per folder and minute; every failure is counted in ``maskwatch_snapshot_errors_total``."""


class Snapshot(NamedTuple):
    """The two files' paths once written, or why they could not be (paths ``None`` then)."""

    path: str | None
    crop: str | None
    error: str | None


class SnapshotStore:
    def __init__(self, root: str | Path, jpeg_quality: int = 90):
        self.root = Path(root)
        self.quality = jpeg_quality
        self._unwritten: OrderedDict[Path, tuple[bytes, bytes]] = OrderedDict()
        self._logged: dict[Path, float] = {}  # folder -> when its last failure was logged
        self._lock = threading.Lock()

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
    ) -> Snapshot:
        """Write (or replace, atomically) both files; never raises for a file system error."""
        full, crop = self.paths(camera, started_at, track_id)
        drawn = frame.copy()
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(drawn, (x1, y1), (x2, y2), (0, 0, 255), 2)
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        try:
            ok_full, jpg_full = cv2.imencode(".jpg", drawn, params)
            ok_crop, jpg_crop = cv2.imencode(".jpg", face_crop(frame, box), params)
        except cv2.error as exc:
            return self._failed(camera, full.parent, f"JPEG encoding failed: {exc}")
        if not (ok_full and ok_crop):
            return self._failed(camera, full.parent, "JPEG encoding failed")
        return self._store(camera, full, crop, jpg_full.tobytes(), jpg_crop.tobytes())

    def retry(self, camera: str, started_at: datetime, track_id: int) -> Snapshot | None:
        """Write the files a failed :meth:`write` kept in memory; ``None`` if none are kept
        (this process did not try, or they were dropped to bound memory)."""
        full, crop = self.paths(camera, started_at, track_id)
        with self._lock:
            kept = self._unwritten.get(full)
        return None if kept is None else self._store(camera, full, crop, *kept)

    def _store(self, camera: str, full: Path, crop: Path, jpg_full: bytes, jpg_crop: bytes) -> Snapshot:
        part: Path | None = None
        try:
            make_private_dirs(full.parent)
            for path, data in ((full, jpg_full), (crop, jpg_crop)):
                part = path.with_name(path.name + ".part")
                write_private(part, data)
                os.replace(part, path)  # a refresh never leaves a half-written file behind
            part = None
        except OSError as exc:
            if part is not None:
                part.unlink(missing_ok=True)
            with self._lock:
                self._unwritten[full] = (jpg_full, jpg_crop)
                self._unwritten.move_to_end(full)
                while len(self._unwritten) > KEEP_UNWRITTEN:
                    self._unwritten.popitem(last=False)
            return self._failed(camera, full.parent, f"{type(exc).__name__}: {exc.strerror or exc}: {exc.filename}")
        with self._lock:
            self._unwritten.pop(full, None)
        return Snapshot(str(full), str(crop), None)

    def _failed(self, camera: str, folder: Path, error: str) -> Snapshot:
        SNAPSHOT_ERRORS.labels(camera).inc()
        now = time.monotonic()
        with self._lock:
            last = self._logged.get(folder)
            quiet = last is not None and now - last < LOG_EVERY_SECONDS
            if not quiet:
                self._logged[folder] = now
        if not quiet:
            log.warning(
                "snapshots: cannot write in %s: %s; violations are recorded without them and the write is tried "
                "again at their close (more failures here in the next minute are only counted)",
                folder,
                error,
            )
        return Snapshot(None, None, error)

    @staticmethod
    def delete(*paths: str | None) -> None:
        for p in paths:
            if p:
                Path(p).unlink(missing_ok=True)
