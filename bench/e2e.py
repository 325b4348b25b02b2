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

    @property
    def realtime(self) -> bool:
        return self.sampled > 0 and self.processed >= 0.95 * self.sampled and self.latency_p95_ms < 1000


def run_load(
    k: int, seconds: float, detect_fps: float = 5.0, transport: str = "memory", redis_url: str | None = None
) -> Load:
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
    cams = "".join(
        f"  - name: {n}\n    url: rtsp://127.0.0.1:{rtsp.port}/{n}\n    detect_fps: {detect_fps}\n" for n in clips
    )
    transport_yaml = f"transport:\n  type: {transport}\n" + (f"  redis_url: {redis_url}\n" if redis_url else "")
    settings = parse_settings(
        f"cameras:\n{cams}{transport_yaml}database:\n  url: sqlite:///{work}/mw.db\nsnapshots:\n  dir: {work}/snaps\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  client_id: bench-{k}\n"
        "delivery:\n  poll_seconds: 0.05\nmetrics:\n  enabled: false\n"
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
    daemon.stop_event.set()
    daemon.shutdown(drain_timeout=2)
    watcher.close()
    rtsp.stop()
    broker.stop()
    return Load(
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
