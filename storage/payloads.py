"""What an alert says, the same for every channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.models import Violation

# console.public_url of this process, set where the recorder is built (daemon.wiring.build_recorder):
# the recorder builds payloads deep in the events stage, where the settings are not at hand
_PUBLIC_URL: str | None = None


def set_public_url(url: str | None) -> None:
    global _PUBLIC_URL
    _PUBLIC_URL = url.rstrip("/") if url else None


def violation_links(violation_id: int) -> dict[str, str]:
    """The console's page and pictures of a violation, when the console has a public URL."""
    if not _PUBLIC_URL:
        return {}
    base = f"{_PUBLIC_URL}/violations/{violation_id}"
    api = f"{_PUBLIC_URL}/api/violations/{violation_id}"
    return {"url": base, "snapshot_url": f"{api}/snapshot.jpg", "face_url": f"{api}/face.jpg"}


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
        **violation_links(v.id),
    }
