"""The small shared core below workers and storage: what travels between roles (frames,
detections, opened violations), face crops, the clock, backoff and the metric names.
It imports nothing of ours but ``config``."""
