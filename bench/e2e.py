"""End to end: K cameras from a real RTSP server through the real in-process daemon.

Each camera is a clip from ``../shared/videos`` served at its native rate (H.264 passed
through, each client starting at the clip's beginning; the reader reconnects at the end).
Measured per K: frames sampled and processed, drops, capture-to-judged latency, alert
latency (capture of the deciding frame to the MQTT message received), CPU and peak RSS.
"""

from __future__ import annotations

import json
import resource
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.loopback.procs import mosquitto, rtsp_server
from config.loader import parse_settings
from models.shared_data import shared_dir

CLIPS = [
    "yash42828_test_no_mask.mp4",
    "Tomer-Anna_Face-Mask-Detector_test_results_video_OVERLAYS.mp4",
    "Gituatu_face-mask-detection_nomask.mp4",
    "diazoniclabs_yolov5-mask_mask.mp4",
    "Andrewendlesss_MaskDetectionusingYOLO_mask.mp4",
    "Gituatu_face-mask-detection_mask.mp4",
    "916241958_opencv_mask_detection_mask.mp4",
    "Deshraj4884_Mask_Detection_System_mask.mp4",
]


@dataclass
class Load:
    cameras: int
    seconds: float
    sampled: int
    processed: int
    dropped: int
    fps_per_camera: float
    latency_p50_ms: float
    latency_p95_ms: float
    alerts: int
    alert_latency_p95_ms: float | None
    cpu_percent: float
    peak_rss_mb: float
    console_requests: int | None = None  # pages and pictures the desk client fetched (console runs only)

    @property
    def realtime(self) -> bool:
        return self.sampled > 0 and self.processed >= 0.95 * self.sampled and self.latency_p95_ms < 1000


BENCH_TOKEN = "bench-console-token-0123456789abcdef"


def _console_yaml(work: Path) -> str:
    """A configured user (so no first-start password is made and printed) and the desk client's token."""
    import secrets

    from daemon.console.auth import hash_password, hash_token

    return (
        f"console:\n  enabled: true\n  port: 0\n  first_user_file: {work}/console-admin.json\n"
        f"  users:\n    - {{name: bench, password_hash: '{hash_password(secrets.token_hex(16))}'}}\n"
        f"  api_tokens:\n    - {{name: bench, token_hash: '{hash_token(BENCH_TOKEN)}', role: viewer}}\n"
    )


class ConsoleClient:
    """A desk on the console while the cameras run: the event stream open, the violation list and the
    newest face fetched every second."""

    def __init__(self, url: str):
        import requests

        self.base = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {BENCH_TOKEN}"
        self.stopping = threading.Event()
        self.requests = 0
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._poll, self._listen)]
        for t in self.threads:
            t.start()

    def _poll(self) -> None:
        while not self.stopping.wait(1.0):
            items = self.session.get(f"{self.base}/api/violations", timeout=10).json()["items"]
            self.requests += 1
            if items:
                self.session.get(f"{self.base}/api/violations/{items[0]['id']}/face.jpg", timeout=10)
                self.requests += 1

    def _listen(self) -> None:
        with self.session.get(f"{self.base}/api/events", params={"max_seconds": 600}, stream=True, timeout=10) as r:
            for _line in r.iter_lines():
                if self.stopping.is_set():
                    break

    def stop(self) -> None:
        self.stopping.set()
        self.threads[0].join(5)


def run_load(
    k: int,
    seconds: float,
    detect_fps: float = 5.0,
    transport: str = "memory",
    redis_url: str | None = None,
    console: bool = False,
    detect_size: int | None = None,
    tiles: int = 1,
    mirror: bool | None = None,
) -> Load:
    """``console``: the web console on too, with a client reading it all along (as a desk would).

    ``detect_size`` and ``mirror`` override ``inference.detect_size`` and ``inference.detect_mirror``;
    ``tiles > 1`` runs every camera as a wide view (``detect_width: 1280``, ``detect_tiles``)."""
    from bench.loopback.mqtt_watch import MqttWatcher
    from daemon.runner import Daemon

    work = Path(tempfile.mkdtemp(prefix=f"mw-bench-{k}-"))
    clips = {f"cam{i}": str(shared_dir() / "videos" / CLIPS[i % len(CLIPS)]) for i in range(k)}
    rtsp = rtsp_server(work, clips, passthrough=True).start()
    broker = mosquitto(work).start()
    watcher = MqttWatcher(broker.port)
    received: list[tuple[float, dict[str, Any]]] = []
    watcher.client.on_message = lambda _c, _u, msg: (
        received.append((time.time(), json.loads(msg.payload))) if msg.topic.endswith("/violation") else None
    )
    wide = f"    detect_width: 1280\n    detect_tiles: {tiles}\n" if tiles > 1 else ""
    cams = "".join(
        f"  - name: {n}\n    url: rtsp://127.0.0.1:{rtsp.port}/{n}\n    detect_fps: {detect_fps}\n{wide}" for n in clips
    )
    transport_yaml = f"transport:\n  type: {transport}\n" + (f"  redis_url: {redis_url}\n" if redis_url else "")
    inference = {"detect_size": detect_size, "detect_mirror": None if mirror is None else str(mirror).lower()}
    if any(v is not None for v in inference.values()):
        transport_yaml += "inference:\n" + "".join(f"  {k}: {v}\n" for k, v in inference.items() if v is not None)
    settings = parse_settings(
        f"cameras:\n{cams}{transport_yaml}database:\n  url: sqlite:///{work}/mw.db\nsnapshots:\n  dir: {work}/snaps\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  client_id: bench-{k}\n"
        "delivery:\n  poll_seconds: 0.05\nmetrics:\n  enabled: false\n" + (_console_yaml(work) if console else "")
    )
    daemon = Daemon(settings)
    latencies: list[float] = []
    lock = threading.Lock()
    daemon.start()
    assert daemon.event_stage is not None and daemon.inference_stage is not None

    def judged(det: Any) -> None:
        with lock:
            latencies.append(time.time() - det.captured_at)

    daemon.event_stage.on_judged = judged
    desk = ConsoleClient(daemon.console.url) if console and daemon.console and daemon.console.url else None
    # warm-up: every camera online and the models warm
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(r.online for r in daemon.readers):
        time.sleep(0.2)
    time.sleep(2)
    read0 = sum(r.frames_read for r in daemon.readers)
    proc0 = daemon.inference_stage.frames_processed
    drop0 = daemon.frames_dropped
    with lock:
        latencies.clear()
    # alerts are kept from the start: a clip's first violation opens during the warm-up
    cpu0 = time.process_time()
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    sampled = sum(r.frames_read for r in daemon.readers) - read0
    processed = daemon.inference_stage.frames_processed - proc0
    dropped = daemon.frames_dropped - drop0
    with lock:
        lat = np.array(latencies) * 1000 if latencies else np.array([np.inf])
    alert_lat = [(t - datetime.fromisoformat(p["decided_at"]).timestamp()) * 1000 for t, p in received]
    if desk is not None:
        desk.stop()
    daemon.stop_event.set()
    daemon.shutdown(drain_timeout=2)
    watcher.close()
    rtsp.stop()
    broker.stop()
    return Load(
        console_requests=desk.requests if desk is not None else None,
        cameras=k,
        seconds=wall,
        sampled=sampled,
        processed=processed,
        dropped=dropped,
        fps_per_camera=processed / wall / k,
        latency_p50_ms=float(np.percentile(lat, 50)),
        latency_p95_ms=float(np.percentile(lat, 95)),
        alerts=len(alert_lat),
        alert_latency_p95_ms=float(np.percentile(alert_lat, 95)) if alert_lat else None,
        cpu_percent=100 * cpu / wall,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
