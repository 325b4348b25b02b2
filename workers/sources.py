"""Opening camera sources with OpenCV/FFmpeg, with bounded open and read times."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2

# TCP: UDP would bind ephemeral ports on every interface; timeout bounds a stalled server.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|timeout;5000000")

TOKEN = re.compile(r"\S+")
USER_END = re.compile(r"[:/]")
SCHEME_CHAR = re.compile(r"[A-Za-z0-9+.-]")
QUERY_PARAM = re.compile(r"(?P<name>[?&;][^=&;#?\s]{1,64}=)[^&;#\s]*")
SECRET_NAME = re.compile(r"password|pwd|pass|token|key|auth|secret", re.IGNORECASE)


def _mask_credentials(token: str) -> str:
    """``scheme://user:`` up to the token's LAST "@" becomes ``scheme://user:***@``.

    Passwords hold "@", ":", "/" and "%" as typed (FFmpeg splits at the last "@" of the
    authority); masking too much (a path holding "@") is safe, too little leaks. One pass,
    no backtracking pattern: every log line goes through this, and a backtracking regex
    took seconds on a 40 KB line.
    """
    last_at = token.rfind("@")
    search = 0
    while last_at >= 0:
        sep = token.find("://", search)
        if sep < 0 or sep + 3 > last_at:
            break
        search = sep + 3
        end = USER_END.search(token, search, last_at)
        if sep > 0 and SCHEME_CHAR.match(token, sep - 1) and end is not None and end.group() == ":":
            return f"{token[: end.start() + 1]}***{token[last_at:]}"
    return token


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it and every secret query parameter replaced by ``***``.

    The one masking function: logs, ``cameras.source``, camera events, status payloads and
    error texts all pass through it before they leave the process. Secret parameters are
    those whose name holds password, pwd, pass, token, key, auth or secret, in any case.
    """
    text = TOKEN.sub(lambda m: _mask_credentials(m.group()) if "://" in m.group() else m.group(), text)
    return QUERY_PARAM.sub(
        lambda m: f"{m.group('name')}***" if SECRET_NAME.search(m.group("name")) else m.group(), text
    )


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
