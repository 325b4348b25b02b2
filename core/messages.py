"""What travels between roles: frames and detections, with a pickle-free wire format.

A frame crosses process and host boundaries as JPEG bytes plus a small msgpack header;
detections are plain msgpack maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import msgpack
import numpy as np


@dataclass(frozen=True)
class Frame:
    camera: str
    frame_id: int  # monotonic per camera
    captured_at: float  # UNIX seconds at capture
    image: np.ndarray  # BGR, at detect size
    session: str = ""  # the reader run that read it: frame ids start again at 1 in every new one

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    score: float  # detector confidence
    label: str | None = None  # with_mask | without_mask | incorrect_mask; None if not classified
    label_score: float = 0.0  # probability of that label


@dataclass(frozen=True)
class Detections:
    camera: str
    frame_id: int
    captured_at: float
    faces: tuple[Face, ...] = field(default_factory=tuple)
    image: np.ndarray | None = None  # the frame, kept for snapshots (JPEG on the wire)
    session: str = ""  # the reader run of the frame (see ``Frame.session``)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG image")
    return image


def pack_frame(frame: Frame) -> dict[bytes, bytes]:
    header = {
        "camera": frame.camera,
        "frame_id": frame.frame_id,
        "session": frame.session,
        "captured_at": frame.captured_at,
        "width": frame.size[0],
        "height": frame.size[1],
    }
    return {b"h": msgpack.packb(header), b"jpeg": encode_jpeg(frame.image, 92)}


def unpack_frame(fields: dict[bytes, bytes]) -> Frame:
    header = msgpack.unpackb(fields[b"h"])
    return Frame(
        header["camera"],
        int(header["frame_id"]),
        float(header["captured_at"]),
        decode_jpeg(fields[b"jpeg"]),
        str(header.get("session", "")),
    )


def pack_detections(det: Detections) -> dict[bytes, bytes]:
    body = {
        "camera": det.camera,
        "frame_id": det.frame_id,
        "session": det.session,
        "captured_at": det.captured_at,
        "faces": [[list(f.box), f.score, f.label, f.label_score] for f in det.faces],
    }
    fields = {b"d": msgpack.packb(body)}
    if det.image is not None:
        fields[b"jpeg"] = encode_jpeg(det.image, 90)
    return fields


def unpack_detections(fields: dict[bytes, bytes]) -> Detections:
    body = msgpack.unpackb(fields[b"d"])
    faces = tuple(Face(tuple(b), float(s), lbl, float(ls)) for b, s, lbl, ls in body["faces"])  # type: ignore[arg-type]
    image = decode_jpeg(fields[b"jpeg"]) if b"jpeg" in fields else None
    return Detections(
        body["camera"], int(body["frame_id"]), float(body["captured_at"]), faces, image, str(body.get("session", ""))
    )
