"""``maskwatch export reviewed DIR``: the reviewers' verdicts as training data for ``train mask --extra``.

Each reviewed violation's face crop is filed under the label a person gave it: a confirmed
violation under the model's own label, a false positive under ``with_mask`` (reason
*masked*) or ``not_a_face`` (kept for the record; training skips it). Reason *other* says
what the face is not, not what it is, so it is left out. ``manifest.json`` lists every file
with the review behind it.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Review, Violation


def reviewed_label(model_label: str, verdict: str, reason: str | None) -> str | None:
    """The label a reviewer's verdict gives the face; None when it gives none."""
    if verdict == "confirmed":
        return model_label
    return {"masked": "with_mask", "not_a_face": "not_a_face"}.get(reason or "")


def export_reviewed(db: Database, out: Path) -> dict[str, Any]:
    latest = select(Review.violation_id, func.max(Review.id).label("rid")).group_by(Review.violation_id).subquery()
    q = (
        select(Violation, Review)
        .join(latest, latest.c.violation_id == Violation.id)
        .join(Review, Review.id == latest.c.rid)
        .order_by(Violation.id)
    )
    with db.session() as session:
        rows = session.execute(q).all()
    previous = out / "manifest.json"
    if previous.is_file():  # a verdict changed since the last export must not leave the face under both labels
        for item in json.loads(previous.read_text()).get("items", []):
            (out / item["file"]).unlink(missing_ok=True)
    items, skipped = [], 0
    for v, r in rows:
        label = reviewed_label(v.label, r.verdict, r.reason)
        crop = Path(v.crop_path) if v.crop_path else None
        if label is None or crop is None or not crop.is_file():
            skipped += 1
            continue
        target = out / label / f"{v.id}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(crop, target)
        items.append(
            {
                "file": str(target.relative_to(out)),
                "label": label,
                "violation_id": v.id,
                "camera": v.camera,
                "started_at": v.started_at.isoformat(),
                "model_label": v.label,
                "model_score": round(float(v.peak_score), 4),
                "verdict": r.verdict,
                "reason": r.reason,
                "reviewer": r.reviewer,
                "reviewed_at": r.at.isoformat(),
            }
        )
    manifest = {"exported_at": datetime.now(UTC).isoformat(), "items": items, "skipped": skipped}
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest
