"""The violation rules on hand-made detections (no models): K of N over T, one per person."""

from __future__ import annotations

import numpy as np

from daemon.config.alerts import ViolationPolicy
from daemon.config.cameras import CameraSettings
from daemon.scan import ListSink
from workers.messages import Detections, Face
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
