"""The violation rules on hand-made detections (no models): K of N over T, one per person."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from config.alerts import ViolationPolicy
from config.cameras import CameraSettings
from config.settings import Settings
from core.messages import Detections, Face
from core.violations import OpenedViolation
from daemon.scan import ListSink
from workers.events import EventStage
from workers.violations import CameraViolations

FRAME = np.zeros((360, 640, 3), dtype=np.uint8)


def _feed(
    cam: CameraViolations, t0: float, seconds: float, box: tuple[float, float, float, float], label: str, first_id: int
) -> int:
    fid = first_id
    for i in range(int(seconds * 5)):
        cam.update(Detections("door", fid, t0 + i / 5, (Face(box, 0.9, label, 0.95),), FRAME))
        fid += 1
    return fid


def _camera(**policy: float) -> tuple[CameraViolations, ListSink]:
    sink = ListSink()
    cam = CameraViolations(CameraSettings(name="door", url="x.mp4"), ViolationPolicy(**policy), sink)
    return cam, sink


def test_k_of_n_over_t_opens_one_violation_per_track() -> None:
    cam, sink = _camera()
    fid = _feed(cam, 1000.0, 0.4, (100, 100, 160, 170), "without_mask", 1)  # 2 frames: not yet
    assert sink.violations == []
    _feed(cam, 1000.4, 3.0, (100, 100, 160, 170), "without_mask", fid)
    assert len(sink.violations) == 1 and sink.violations[0].label == "without_mask"


def test_masked_people_never_open_one() -> None:
    cam, sink = _camera()
    _feed(cam, 1000.0, 4.0, (100, 100, 160, 170), "with_mask", 1)
    cam.expire(0.0, everything=True)
    assert sink.violations == []


def test_a_lost_person_found_nearby_keeps_the_violation_far_away_is_another() -> None:
    cam, sink = _camera(track_lost_seconds=1.0, rejoin_seconds=10.0)
    fid = _feed(cam, 1000.0, 2.0, (100, 100, 160, 170), "without_mask", 1)
    cam.update(Detections("door", fid, 1003.5, (), FRAME))  # gone for 1.5 s: the track ends
    fid = _feed(cam, 1004.0, 2.0, (130, 105, 190, 175), "without_mask", fid + 1)  # back, a little further on
    assert len(sink.violations) == 1
    cam.update(Detections("door", fid, 1007.5, (), FRAME))
    _feed(cam, 1008.0, 2.0, (520, 100, 580, 170), "without_mask", fid + 1)  # someone across the frame
    assert len(sink.violations) == 2


def test_rejoin_can_be_turned_off() -> None:
    cam, sink = _camera(track_lost_seconds=1.0, rejoin_seconds=0.0)
    fid = _feed(cam, 1000.0, 2.0, (100, 100, 160, 170), "without_mask", 1)
    cam.update(Detections("door", fid, 1003.5, (), FRAME))
    _feed(cam, 1004.0, 2.0, (130, 105, 190, 175), "without_mask", fid + 1)
    assert len(sink.violations) == 2


def test_two_people_side_by_side_are_two_violations() -> None:
    """The rejoin rule is for a person the tracker lost, never for someone seen beside them."""
    cam, sink = _camera(track_lost_seconds=1.0, rejoin_seconds=10.0)
    alone, together = (100, 100, 160, 170), (180, 100, 240, 170)  # centres a face and a third apart
    fid = _feed(cam, 1000.0, 2.0, alone, "without_mask", 1)
    assert len(sink.violations) == 1
    for i in range(15):  # a second unmasked person steps up beside the first, listed first
        first = Face(alone, 0.9, "without_mask", 0.95)
        faces = (Face(together, 0.9, "without_mask", 0.95),) + ((first,) if not 2 <= i <= 5 else ())
        cam.update(Detections("door", fid + i, 1002.0 + i / 5, faces, FRAME))  # the first is missed for a moment
    assert len(sink.violations) == 2


def _stage(sink: ListSink) -> EventStage:
    settings = Settings(cameras=[CameraSettings(name="door", url="x.mp4")])
    return EventStage(settings, sink, reorder_seconds=0.0)


def _play(stage: EventStage, session: str, t0: float, seconds: float, first_id: int = 1) -> None:
    for i in range(int(seconds * 5)):
        face = Face((100, 100, 160, 170), 0.9, "without_mask", 0.95)
        stage.push(Detections("door", first_id + i, t0 + i / 5, (face,), FRAME, session))
        stage.release()


def test_a_late_frame_of_an_earlier_reader_run_never_blinds_the_new_one() -> None:
    """After a crash, a frame of the dead reader's run can be redelivered after the new run's first frames."""
    sink = ListSink()
    stage = _stage(sink)
    _play(stage, "0000000000002-new", 1000.0, 0.6)
    _play(stage, "0000000000001-old", 990.0, 0.2, first_id=500)  # redelivered late
    assert stage.cameras["door"].last_frame_id == 3, "dropped, not judged: the new run's tracks go on"
    _play(stage, "0000000000002-new", 1000.6, 3.0, first_id=4)
    assert stage.cameras["door"].session == "0000000000002-new"
    assert len(sink.violations) == 1, "the new run's person is judged"


def test_a_person_still_in_view_when_the_reader_restarts_keeps_their_violation() -> None:
    sink = ListSink()
    stage = _stage(sink)
    _play(stage, "0000000000001-a", 1000.0, 3.0)
    assert len(sink.violations) == 1
    _play(stage, "0000000000002-b", 1003.5, 3.0)  # the reader restarted; frame ids from 1 again
    stage.finish()
    assert len(sink.violations) == 1, [v.as_json() for v in sink.violations]


def test_a_violation_the_database_refused_once_is_recorded_on_the_next_frame() -> None:
    class Flaky(ListSink):
        failures = 1

        def opened(self, v: OpenedViolation) -> int | None:
            if self.failures:
                self.failures -= 1
                raise OSError("database is locked")
            return super().opened(v)

    sink = Flaky()
    cam = CameraViolations(CameraSettings(name="door", url="x.mp4"), ViolationPolicy(), sink)
    fid = 1
    for i in range(20):
        face = Face((100, 100, 160, 170), 0.9, "without_mask", 0.95)
        try:
            cam.update(Detections("door", fid + i, 1000.0 + i / 5, (face,), FRAME))
        except OSError:
            continue  # the events loop logs it and goes on with the next detections
    assert sink.failures == 0 and len(sink.violations) == 1


def test_a_track_that_ends_while_the_database_is_away_is_ended_on_the_next_round() -> None:
    """PostgreSQL briefly down: the writes at a track's end fail; the track stays until they succeed."""

    class Away(ListSink):
        down = True

        def person_seen(self, camera: str, at: datetime, label: str) -> None:
            if self.down:
                raise OSError("connection refused")
            super().person_seen(camera, at, label)

    sink = Away()
    cam = CameraViolations(CameraSettings(name="door", url="x.mp4"), ViolationPolicy(track_lost_seconds=1.0), sink)
    _feed(cam, 1000.0, 3.0, (100, 100, 160, 170), "without_mask", 1)
    assert len(sink.violations) == 1 and sink.violations[0].ended_at is None
    with pytest.raises(OSError):
        cam.expire(1010.0)
    assert sink.violations[0].ended_at is not None, "closed before the write that failed"
    sink.down = False
    cam.expire(1011.0)
    assert cam.tracks == {}
