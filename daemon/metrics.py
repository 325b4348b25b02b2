"""The health endpoint (``/metrics`` and ``/healthz`` on one port) and the daemon's
metric hooks; the metric objects themselves are ``core.metrics``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from core.metrics import ALERT_LATENCY, FRAMES_PROCESSED, STREAM_LAG, VIOLATIONS


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
