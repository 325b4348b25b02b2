"""Face tracking with ultralytics' ByteTrack (supervision 0.31 no longer ships a tracker)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from core.messages import Face
from workers.offline import ultralytics_offline


class _Boxes:
    """The results-like view BYTETracker reads: conf, cls, xywh, boolean indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray):
        self.xyxy = xyxy
        self.conf = conf
        self.cls = np.zeros(len(conf), dtype=np.float32)
        xy = (xyxy[:, :2] + xyxy[:, 2:]) / 2
        wh = xyxy[:, 2:] - xyxy[:, :2]
        self.xywh = np.concatenate([xy, wh], axis=1) if len(conf) else np.zeros((0, 4), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: np.ndarray) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index])


@dataclass(frozen=True)
class TrackedFace:
    track_id: int
    face: Face


class FaceTracker:
    """One per camera. ``fps`` is the sampled rate, so ``lost_seconds`` maps to frames."""

    def __init__(self, fps: float, lost_seconds: float, min_score: float):
        ultralytics_offline()
        from ultralytics.trackers.byte_tracker import BYTETracker

        args = SimpleNamespace(
            track_high_thresh=max(min_score, 0.1),
            track_low_thresh=0.1,
            new_track_thresh=max(min_score, 0.1),
            track_buffer=max(1, round(lost_seconds * fps)),
            match_thresh=0.8,
            fuse_score=True,
        )
        self._tracker = BYTETracker(args)

    def update(self, faces: tuple[Face, ...]) -> list[TrackedFace]:
        xyxy = np.array([f.box for f in faces], dtype=np.float32).reshape(-1, 4)
        conf = np.array([f.score for f in faces], dtype=np.float32)
        self._tracker.update(_Boxes(xyxy, conf))
        # the tracks by their attributes (``idx``: which input box a track matched this frame),
        # not by the column order of update()'s array, which ultralytics has changed before
        tracked = []
        for track in self._tracker.tracked_stracks:
            idx = int(track.idx)
            if track.is_activated and 0 <= idx < len(faces):
                tracked.append(TrackedFace(int(track.track_id), faces[idx]))
        return tracked
