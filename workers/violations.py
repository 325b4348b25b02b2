"""The violation state machine, per camera, fed detections in capture order.

A track opens one violation when at least K of its last N classified frames carry a
violation label over at least T seconds; the violation closes when the track ends. The
snapshot is the track's best frame (highest label probability times face width).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config.alerts import ViolationPolicy
from config.cameras import CameraSettings
from config.runtime import ActiveHours
from core.messages import Detections, Face
from core.violations import OpenedViolation, ViolationSink
from workers.tracking import FaceTracker

SEEN_EVERY_S = 5.0  # how often an open violation's last sighting is persisted (crash recovery)


@dataclass
class _Track:
    first_seen: float
    last_seen: float
    samples: deque[tuple[float, bool, str]]  # time, is violation, label
    labels: Counter[str] = field(default_factory=Counter)
    best: tuple[float, OpenedViolation] | None = None
    violation_id: int | None = None
    undecided: bool = True  # no violation decided yet (False once opened, rejoined or refused)
    seen_saved: float = 0.0  # capture time of the last persisted sighting
    peak: float = 0.0
    improved: bool = False
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    beside: set[int] = field(default_factory=set)  # violations whose person was in a frame with this track


@dataclass
class _Sighting:
    """Where and when a violation's person was last seen, for rejoining a lost track."""

    box: tuple[float, float, float, float]
    last_seen: float


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Centres closer than twice the larger face width: a person who moved a little."""
    reach = 2.0 * max(a[2] - a[0], b[2] - b[0])
    dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2
    dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2
    return dx * dx + dy * dy < reach * reach


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def within_hours(active_hours: ActiveHours | None, ts: float) -> bool:
    return active_hours is None or active_hours.contains(datetime.fromtimestamp(ts).time())


class CameraViolations:
    def __init__(
        self,
        camera: CameraSettings,
        policy: ViolationPolicy,
        sink: ViolationSink,
        active_hours: ActiveHours | None = None,
    ):
        self.camera = camera
        self.policy = policy
        self.sink = sink
        self.active_hours = active_hours
        self.tracker = FaceTracker(camera.detect_fps, policy.track_lost_seconds, camera.thresholds.face)
        self.tracks: dict[int, _Track] = {}
        self.last_frame_id = 0
        self.session = ""  # the reader run being judged; a new one resets the camera (events stage)
        self.sightings: dict[int, _Sighting] = {}

    def update(self, det: Detections) -> None:
        now = det.captured_at
        self.last_frame_id = det.frame_id
        tracked = self.tracker.update(det.faces)
        # the violations whose person is in this frame; known before any track of it is observed
        in_frame = {
            t.violation_id
            for tf in tracked
            if (t := self.tracks.get(tf.track_id)) is not None and t.violation_id is not None
        }
        for tf in tracked:
            self._observe(tf.track_id, tf.face, det, now, in_frame)
        self.expire(now)

    def _observe(self, track_id: int, face: Face, det: Detections, now: float, in_frame: set[int]) -> None:
        track = self.tracks.get(track_id)
        if track is None:
            track = self.tracks[track_id] = _Track(now, now, deque(maxlen=self.policy.window))
        track.beside |= in_frame  # its own violation too: harmless, a track with one never rejoins
        track.last_seen = now
        track.box = face.box
        if track.violation_id is not None:
            if track.violation_id in self.sightings:
                self.sightings[track.violation_id] = _Sighting(face.box, now)
            if now - track.seen_saved >= SEEN_EVERY_S:
                track.seen_saved = now
                self.sink.seen(track.violation_id, _utc(now))
        if face.label is None:
            return  # gated (too small or blurred): tracked, not judged
        confident = face.label_score >= self.camera.thresholds.label
        if confident:
            track.labels[face.label] += 1
        hit = confident and face.label in self.policy.labels
        track.samples.append((now, hit, face.label))
        if hit:
            width = face.box[2] - face.box[0]
            quality = face.label_score * width
            if det.image is not None and (track.best is None or quality > track.best[0]):
                track.best = (
                    quality,
                    OpenedViolation(
                        det.camera,
                        track_id,
                        det.frame_id,
                        _utc(now),
                        face.label,
                        face.label_score,
                        det.image,
                        face.box,
                        session=self.session,
                    ),
                )
                track.improved = True
            track.peak = max(track.peak, face.label_score)
        if track.undecided and track.best is not None and self._should_open(track):
            rejoined = self._rejoin(track, now)
            if rejoined is not None:
                track.undecided = False
                track.violation_id = rejoined
                return
            first_hit = next(t for t, h, _ in track.samples if h)
            best = track.best[1]
            labels = Counter(lbl for _, h, lbl in track.samples if h)
            opened = OpenedViolation(
                det.camera,
                track_id,
                det.frame_id,
                _utc(first_hit),
                labels.most_common(1)[0][0],
                track.peak,
                best.frame,
                best.box,
                _utc(now),
                self.session,
            )
            vid = self.sink.opened(opened)  # if it raises (database away), the next frame tries again
            track.undecided = False
            track.violation_id = vid
            track.improved = False
            track.seen_saved = now
            if vid is not None:
                self.sightings[vid] = _Sighting(face.box, now)

    def where_seen(self) -> dict[int, _Sighting]:
        """Where each open violation's person was last seen (its track's box), for a tracker
        that replaces this one to rejoin them."""
        seen = dict(self.sightings)
        for track in self.tracks.values():
            if track.violation_id is not None:
                seen[track.violation_id] = _Sighting(track.box, track.last_seen)
        return seen

    def _rejoin(self, track: _Track, now: float) -> int | None:
        """The violation this track continues, if its person was lost by the tracker a moment ago.

        A track ever seen in one frame with the violation's person is someone beside them.
        """
        if self.policy.rejoin_seconds <= 0:
            return None
        for vid, seen in self.sightings.items():
            if (
                vid not in track.beside
                and seen.last_seen < now
                and now - seen.last_seen <= self.policy.rejoin_seconds
                and _near(seen.box, track.box)
            ):
                return vid
        return None

    def _should_open(self, track: _Track) -> bool:
        hits = [t for t, h, _ in track.samples if h]
        if len(hits) < self.policy.min_hits or hits[-1] - hits[0] < self.policy.min_seconds:
            return False
        return within_hours(self.active_hours, hits[-1])

    def expire(self, now: float, everything: bool = False, reason: str = "shutdown") -> None:
        """End tracks unseen for the policy's timeout, or all of them (at shutdown, or when the
        camera's reader restarted), then with ``reason``."""
        self.sightings = {
            vid: s
            for vid, s in self.sightings.items()
            if everything is False and now - s.last_seen <= self.policy.rejoin_seconds
        }
        for track_id, track in list(self.tracks.items()):
            if everything or now - track.last_seen > self.policy.track_lost_seconds:
                # each write is marked done only once it succeeded, and the track goes last: if the
                # database is away, the sink raises and the next round ends the track again
                if track.violation_id is not None:
                    best = track.best[1] if track.best is not None and track.improved else None
                    ended = reason if everything else "track_lost"
                    self.sink.closed(track.violation_id, _utc(track.last_seen), track.peak, best, ended)
                    track.violation_id = None
                if track.labels:
                    self.sink.person_seen(self.camera.name, _utc(track.first_seen), track.labels.most_common(1)[0][0])
                    track.labels.clear()
                del self.tracks[track_id]
