"""The daily compliance digest: violations and mask rate per camera and hour, by email."""

from __future__ import annotations

import html
from datetime import timedelta

from core.clock import utcnow
from storage.db import Database
from storage.models import OutboxAlert
from storage.queries import compliance


def queue_digest(db: Database) -> int:
    """Put the last 24 h's digest in the outbox (delivered like any alert)."""
    until = utcnow()
    rows = compliance(db, since=until - timedelta(days=1), until=until)
    header = f"{'camera':<20} {'hour (UTC)':<17} {'masked':>7} {'unmasked':>9} {'incorrect':>10} {'rate':>6} {'violations':>10}"
    lines = [header]
    cells = []
    for r in rows:
        rate = f"{r.mask_rate:.0%}" if r.mask_rate is not None else "-"
        lines.append(
            f"{r.camera:<20} {r.hour:%Y-%m-%d %H:00} {r.with_mask:>7} {r.without_mask:>9} "
            f"{r.incorrect_mask:>10} {rate:>6} {r.violations:>10}"
        )
        cells.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(c))}</td>"
                for c in (
                    r.camera,
                    f"{r.hour:%Y-%m-%d %H:00}",
                    r.with_mask,
                    r.without_mask,
                    r.incorrect_mask,
                    rate,
                    r.violations,
                )
            )
            + "</tr>"
        )
    day = f"{until:%Y-%m-%d}"
    payload = {
        "day": day,
        "text": "maskwatch compliance, last 24 hours\n\n" + "\n".join(lines) + "\n",
        "html": "<h3>maskwatch compliance, last 24 hours</h3><table border=1 cellpadding=3>"
        "<tr><th>camera</th><th>hour (UTC)</th><th>masked</th><th>unmasked</th><th>incorrect</th>"
        "<th>mask rate</th><th>violations</th></tr>" + "".join(cells) + "</table>",
    }
    with db.session.begin() as session:
        session.add(
            OutboxAlert(
                channel="email",
                kind="digest",
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=until,
                created_at=until,
            )
        )
    return len(rows)
