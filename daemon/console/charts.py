"""Compliance charts drawn on the server as SVG: no chart library in the browser, nothing fetched.

One chart per camera: violations as bars (left axis) and the mask rate as a line (right
axis, 0-100 %) over the hours or days of the chosen range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 40, 16, 36


MAX_SLOTS = 24 * 31


def slots(start: datetime, end: datetime, period: str) -> list[str]:
    """Every hour (or day) label from ``start`` to ``end``, as ``stats_rows`` writes them; empty if too many."""
    step = timedelta(hours=1) if period == "hour" else timedelta(days=1)
    at = start.replace(minute=0, second=0, microsecond=0)
    if period == "day":
        at = at.replace(hour=0)
    fmt = "%Y-%m-%d %H:00" if period == "hour" else "%Y-%m-%d"
    out: list[str] = []
    while at <= end and len(out) <= MAX_SLOTS:
        out.append(at.strftime(fmt))
        at += step
    return out if len(out) <= MAX_SLOTS else []


def compliance_svg(camera: str, rows: list[dict[str, Any]], period: str, axis: list[str] | None = None) -> str:
    """``rows`` are one camera's ``stats_rows``, drawn on ``axis`` (every slot of the range, so quiet hours
    show as gaps) when given; returns a self-contained ``<svg>`` element."""
    if axis:
        by_slot = {r[period]: r for r in rows}
        empty = {"violations": 0, "mask_rate": None}
        rows = [by_slot.get(slot, {**empty, period: slot}) for slot in axis]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(rows))
    step = plot_w / n
    peak = max([r["violations"] for r in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(camera)}: violations and mask rate">',
        f"<title>{escape(camera)}: violations and mask rate per {escape(period)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for frac in (0.0, 0.5, 1.0):  # right axis: the rate
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT + plot_w + 4}" y="{y + 4:.1f}" class="axis">{int(frac * 100)}%</text>')
    parts.append(f'<text x="{LEFT - 4}" y="{TOP + 10}" class="axis" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{LEFT - 4}" y="{TOP + plot_h}" class="axis" text-anchor="end">0</text>')
    points = []
    label_every = max(1, n // 8)
    for i, r in enumerate(rows):
        x = LEFT + i * step
        h = plot_h * r["violations"] / peak
        when = r[period]
        if r["violations"]:
            parts.append(
                f'<rect x="{x + step * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" class="bar"><title>{escape(when)}: {r["violations"]} violation(s)</title></rect>'
            )
        if r["mask_rate"] is not None:
            points.append((x + step / 2, TOP + plot_h * (1 - r["mask_rate"]), when, r["mask_rate"]))
        if i % label_every == 0:
            short = when[11:16] if period == "hour" else when[5:]
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 20}" class="axis" text-anchor="middle">'
                f"{escape(short)}</text>"
            )
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(f'<polyline points="{path}" class="rate"/>')
        for x, y, when, rate in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="rate-dot"><title>{escape(when)}: '
                f"{rate:.1%} masked</title></circle>"
            )
    if not rows:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="axis" text-anchor="middle">no data</text>')
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 4}" class="legend"><tspan class="bar-key">■</tspan> violations '
        '<tspan class="rate-key">●</tspan> mask rate</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
