"""The camera reader: one per camera. Samples frames at the detect rate, watches frame age,
reconnects with exponential backoff and jitter, and reports online/offline."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from config.cameras import CameraSettings
from core.backoff import Backoff
from core.messages import Frame
from workers.sources import is_file_source, mask_url, open_capture

log = logging.getLogger("maskwatch.reader")

StatusSink = Callable[[str, str, str], None]  # camera, "online" | "offline", detail
FrameSink = Callable[[Frame], None]


def reader_session(epoch: int) -> str:
    """A reader run's id: its epoch, zero-padded so that later runs sort after earlier ones
    (the events stage drops frames of older runs), then a random tail."""
    return f"{epoch:013d}-{secrets.token_hex(4)}"


def resize_to_width(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


class CameraReader:
    """Reads one camera until stopped.

    ``realtime=False`` reads a file as fast as it decodes and stamps frames with the
    video's own clock (``scan``); live sources are always stamped with wall time.
    """

    def __init__(
        self,
        camera: CameraSettings,
        on_frame: FrameSink,
        on_status: StatusSink,
        stop: threading.Event,
        realtime: bool = True,
        stall_seconds: float = 10.0,
        backoff: Backoff | None = None,
        file_attempts: int = 3,
        session: str | None = None,
    ):
        self.camera = camera
        self.on_frame = on_frame
        self.on_status = on_status
        self.stop = stop
        self.realtime = realtime
        self.stall_seconds = stall_seconds
        self.backoff = backoff or Backoff()
        # frame ids count from 1 in every reader run; the session tells runs apart downstream
        # (violation keys, the events stage's order), so a restart never reuses an identity
        self.session = session or reader_session(time.time_ns() // 1_000_000)
        self.frame_id = 0
        self.beat: Callable[[], None] = lambda: None  # stamped per frame and per reconnect (health)
        self.frames_read = 0
        self.online: bool | None = None  # unknown until the first open succeeds or fails
        self._last_frame = time.monotonic()
        self.finished = False  # a non-looping file reached its end, or a file could not be read
        self.file_attempts = file_attempts  # a file that will not open does not heal: bounded, no backoff loop
        self.error: str | None = None  # why a file source was given up

    def _set_online(self, online: bool, detail: str) -> None:
        if online != self.online:
            self.online = online
            self.on_status(self.camera.name, "online" if online else "offline", mask_url(detail))

    def run(self) -> None:
        # the watchdog lives exactly as long as this run: a thread left behind would wake up in
        # the middle of the interpreter's shutdown (``scan`` returns right after ``run``)
        run_over = threading.Event()
        watchdog = threading.Thread(
            target=self._watchdog, args=(run_over,), name=f"watchdog-{self.camera.name}", daemon=True
        )
        watchdog.start()
        try:
            self._run()
        finally:
            run_over.set()
            watchdog.join(timeout=5.0)  # bounded: a status sink stuck mid-report must not hold a shutdown

    def _run(self) -> None:
        failed_opens = 0
        while not self.stop.is_set() and not self.finished:
            self.beat()
            try:
                cap = open_capture(self.camera.url)
            except ConnectionError as exc:
                self._set_online(False, str(exc))
                failed_opens += 1
                if is_file_source(self.camera.url) and failed_opens >= self.file_attempts:
                    self.error, self.finished = "cannot be opened as a video", True
                    log.error(
                        "camera %s: %s; giving up after %d attempts", self.camera.name, mask_url(str(exc)), failed_opens
                    )
                    return
                delay = self.backoff.next_delay()
                log.warning("camera %s: %s; retrying in %.1f s", self.camera.name, mask_url(str(exc)), delay)
                self.stop.wait(delay)
                continue
            try:
                self._read(cap)
            finally:
                cap.release()
            if not self.stop.is_set() and not self.finished:
                delay = self.backoff.next_delay()
                log.warning("camera %s: stream ended; reconnecting in %.1f s", self.camera.name, delay)
                self.stop.wait(delay)

    def _read(self, cap: cv2.VideoCapture) -> None:
        file_source = is_file_source(self.camera.url)
        native_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        if not 1 <= native_fps <= 240:
            native_fps = 25.0
        interval = 1.0 / self.camera.detect_fps
        started_wall = time.time()
        video_t0: float | None = None
        next_due = 0.0
        index = 0
        rewound = False
        while not self.stop.is_set():
            if not cap.grab():
                if file_source and index == 0 and not rewound:  # opens, yields nothing: looping it would spin
                    self.error, self.finished = "no frame could be decoded", True
                    self._set_online(False, self.error)
                elif file_source and index == 0:  # seeking back failed: let run() open the file again
                    pass
                elif file_source and not self.camera.loop:
                    self.finished = True
                    self._set_online(False, "end of file")
                elif file_source:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    started_wall, video_t0, next_due, index, rewound = time.time(), None, 0.0, 0, True
                    continue
                else:
                    self._set_online(False, f"{self.camera.url}: read failed")
                return
            self._last_frame = time.monotonic()
            self.beat()
            index += 1
            if file_source:
                # the video clock: frame index over the native rate (robust to bad PTS)
                video_t = index / native_fps
                if video_t0 is None:
                    video_t0 = video_t
                rel = video_t - video_t0
                if self.realtime:
                    ahead = started_wall + rel - time.time()
                    if ahead > 0:
                        self.stop.wait(ahead)
                captured_at = started_wall + rel
            else:
                captured_at = time.time()
                rel = captured_at - started_wall
            if rel + 1e-6 < next_due:
                continue  # grabbed, not decoded: only sampled frames cost a retrieve
            next_due = max(next_due + interval, rel) if next_due else rel + interval
            ok, image = cap.retrieve()
            if not ok or image is None:
                continue
            self._set_online(True, mask_url(self.camera.url))
            self.backoff.reset()
            self.frame_id += 1
            self.frames_read += 1
            self.on_frame(
                Frame(
                    self.camera.name,
                    self.frame_id,
                    captured_at,
                    resize_to_width(image, self.camera.detect_width),
                    self.session,
                )
            )

    def _watchdog(self, run_over: threading.Event) -> None:
        """A stalled server can make a read block ~30 s and then return a stale frame."""
        while not run_over.wait(1.0) and not self.stop.is_set() and not self.finished:
            if self.online and time.monotonic() - self._last_frame > self.stall_seconds:
                log.warning("camera %s: no frame for %.0f s", self.camera.name, self.stall_seconds)
                self._set_online(False, f"no frame for {self.stall_seconds:.0f} s")
