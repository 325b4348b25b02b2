"""What an alert says, the same for every channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.models import Violation


def violation_payload(v: Violation, decided_at: datetime | None = None) -> dict[str, Any]:
    """``decided_at`` (capture time of the deciding frame) lets receivers measure alert latency."""
    return {
        "id": v.id,
        "camera": v.camera,
        "track_id": v.track_id,
        "started_at": v.started_at.isoformat(),
        "label": v.label,
        "score": round(float(v.peak_score), 4),
        "snapshot": v.snapshot_path,
        "face": v.crop_path,
        "decided_at": (decided_at or v.started_at).isoformat(),
    }
