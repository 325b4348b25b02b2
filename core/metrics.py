"""The metric names every layer counts into (prometheus-client objects, defined once).

Under the supervisor the roles' processes write them to prometheus-client's multiprocess
folder (``PROMETHEUS_MULTIPROC_DIR``) and the supervisor serves them all; gauges then
report the largest value among live processes. Served by ``daemon.metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
ALERTS_FAILED = Counter(
    "maskwatch_alerts_failed", "Alerts set aside as failed after delivery.max_attempts", ["channel"]
)
SNAPSHOT_ERRORS = Counter("maskwatch_snapshot_errors", "Snapshot writes that failed", ["camera"])
