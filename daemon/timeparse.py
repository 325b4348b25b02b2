"""``--since 2h`` / ``--since 2026-11-26T08:00`` for the history commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """A point in time; every input it cannot turn into one is a ``ValueError`` with a one-line reason."""
    now = now or datetime.now(UTC)
    m = re.fullmatch(r"(\d{1,12}(?:\.\d{1,9})?)([smhdw])", text.strip())
    if m:
        try:
            return now - timedelta(**{UNITS[m.group(2)]: float(m.group(1))})
        except OverflowError:  # 999999999d: before year 1
            raise ValueError(f"{text!r} reaches back before year 1") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration like 2h/30m/7d nor a date like 2026-11-26T08:00") from None
    try:
        return when if when.tzinfo else when.astimezone()  # a naive date is local time
    except (ValueError, OverflowError, OSError):  # 0001-01-01 in a zone east of UTC is in year 0
        raise ValueError(f"{text!r} is out of range") from None
