"""Logging set once per process: text or JSON, passwords in URLs always masked."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from workers.sources import mask_url


class MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_url(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskedFormatter(logging.Formatter):
    """Tracebacks carry URLs too (OpenCV and driver messages quote the source): masked like messages."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return mask_url(super().formatException(ei))


class JsonFormatter(MaskedFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskSecrets())
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else MaskedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic", "ultralytics"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
