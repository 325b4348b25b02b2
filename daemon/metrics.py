"""Prometheus metrics and the health endpoint (``/metrics`` and ``/healthz`` on one port).

Under the supervisor the roles' processes write their metrics to prometheus-client's
multiprocess folder (``PROMETHEUS_MULTIPROC_DIR``) and the supervisor serves them all;
gauges then report the largest value among live processes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

FRAMES_READ = Counter("maskwatch_frames_read_total", "Frames sampled by readers", ["camera"])
FRAMES_DROPPED = Counter("maskwatch_frames_dropped_total", "Frames dropped under backpressure", ["camera"])
FRAMES_PROCESSED = Counter("maskwatch_frames_processed_total", "Frames through inference", ["camera"])
INFERENCE_SECONDS = Histogram(
    "maskwatch_inference_seconds", "Inference time per batch", buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
)
STREAM_LAG = Gauge(
    "maskwatch_stream_lag_frames", "Frames waiting for inference", ["camera"], multiprocess_mode="livemax"
)
ALERT_LATENCY = Histogram(
    "maskwatch_alert_latency_seconds",
    "Frame capture to alert delivered",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OUTBOX_BACKLOG = Gauge("maskwatch_outbox_backlog", "Alerts waiting for delivery", multiprocess_mode="livemax")
CAMERA_UP = Gauge("maskwatch_camera_up", "1 while the camera delivers frames", ["camera"], multiprocess_mode="livemax")
VIOLATIONS = Counter("maskwatch_violations_total", "Violations opened", ["camera"])


def observe_delivery(alert: Any) -> None:
    """Frame-capture-to-delivered latency of a violation alert (dispatcher hook)."""
    decided = alert.payload.get("decided_at") if isinstance(alert.payload, dict) else None
    if alert.kind == "violation" and decided:
        delay = (datetime.now(UTC) - datetime.fromisoformat(decided)).total_seconds()
        ALERT_LATENCY.labels(alert.channel).observe(max(0.0, delay))


def observe_frames(frames: Any) -> None:
    for frame in frames:
        FRAMES_PROCESSED.labels(frame.camera).inc()


def observe_violation(camera: str) -> None:
    VIOLATIONS.labels(camera).inc()


def observe_backlog(backlog: dict[str, int]) -> None:
    for camera, waiting in backlog.items():
        STREAM_LAG.labels(camera).set(waiting)


def multiprocess_registry(folder: str | Path) -> CollectorRegistry:
    """The metrics every child process wrote to ``folder``, summed (the supervisor's view)."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return registry


class HealthServer:
    """Serves ``/metrics`` and ``/healthz`` (JSON from ``health()``; 503 when not ok)."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], dict[str, Any]],
        registry: CollectorRegistry = REGISTRY,
    ):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.startswith("/metrics"):
                    body, ctype, code = generate_latest(registry), CONTENT_TYPE_LATEST, 200
                elif self.path.startswith("/healthz"):
                    state = outer.health()
                    body, ctype = json.dumps(state, default=str).encode(), "application/json"
                    code = 200 if state.get("ok") else 503
                else:
                    body, ctype, code = b"not found\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return None

        self.health = health
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The outbox's dead letters and the snapshot files that could not be written (issue 22).
ALERTS_FAILED = Counter(
    "maskwatch_alerts_failed", "Alerts set aside as failed after delivery.max_attempts", ["channel"]
)
SNAPSHOT_ERRORS = Counter("maskwatch_snapshot_errors", "Snapshot writes that failed", ["camera"])
