"""Opening camera sources with OpenCV/FFmpeg, with bounded open and read times."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2

# TCP: UDP would bind ephemeral ports on every interface; timeout bounds a stalled server.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|timeout;5000000")

# user:password@ up to the LAST "@" of the URL: passwords hold "@", ":", "/" and "%" as typed
# (FFmpeg itself splits at the last "@" of the authority). Masking too much is safe; too little leaks.
CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/\s]*):(?P<password>\S*)@")
SECRET_PARAMS = re.compile(
    r"(?P<name>[?&;][^=&;#\s]*(?:password|pwd|pass|token|key|auth|secret)[^=&;#\s]*=)[^&;#\s]*", re.IGNORECASE
)


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it and every secret query parameter replaced by ``***``.

    The one masking function: logs, ``cameras.source``, camera events, status payloads and
    error texts all pass through it before they leave the process.
    """
    text = CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    return SECRET_PARAMS.sub(lambda m: f"{m.group('name')}***", text)


class MediaError(OSError):
    """A file that exists but cannot be read as an image or a video: reported per file, the rest go on."""


def is_file_source(url: str) -> bool:
    return "://" not in url and not url.isdigit()


def open_capture(url: str, open_timeout_ms: int = 5000, read_timeout_ms: int = 5000) -> cv2.VideoCapture:
    """A capture that is opened, or raises ``ConnectionError`` naming the (masked) source."""
    if url.isdigit():
        cap = cv2.VideoCapture(int(url))
    else:
        if is_file_source(url) and not Path(url).exists():
            raise ConnectionError(f"{url}: no such file")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_timeout_ms]
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise ConnectionError(f"cannot open {mask_url(url)}")
    return cap
