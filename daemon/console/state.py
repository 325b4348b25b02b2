"""The state the console's routes share, kept on ``app.state.console``: settings, database,
authenticator, and the daemon's health and live-frame hooks.

One object built by ``server.serve`` rather than module globals, so a process (or a test) can
run more than one console over different databases.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request

from config.console import ConsoleSettings
from config.settings import Settings
from core.messages import Frame
from daemon.console.auth import Authenticator
from storage.db import Database


class Console:
    """The state the routes share: settings, database, authenticator, and the daemon's health hook."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        auth: Authenticator,
        health: Callable[[], dict[str, Any]] | None = None,
        frames: Mapping[str, Frame] | None = None,
    ):
        self.settings = settings
        self.frames = frames
        self.cfg: ConsoleSettings = settings.console
        self.db = db
        self.auth = auth
        self.health = health
        self.snapshot_root = Path(settings.snapshots.dir).resolve()
        self.stopping = threading.Event()
        self._model_hashes: dict[tuple[str, int, float], str] = {}

    def secure_cookies(self, request: Request) -> bool:
        return request.url.scheme == "https" or bool(self.cfg.public_url and self.cfg.public_url.startswith("https:"))

    def image_path(self, stored: str | None) -> Path | None:
        """The stored snapshot path if, resolved, it lies inside the snapshots folder; else None."""
        if not stored:
            return None
        path = Path(stored).resolve()
        if not path.is_relative_to(self.snapshot_root) or not path.is_file():
            return None
        return path

    def model_files(self) -> list[dict[str, Any]]:
        from workers.inference import resolve_model_path

        out = []
        for role, rel in (
            ("detector", self.settings.inference.detector),
            ("classifier", self.settings.inference.classifier),
        ):
            path = Path(resolve_model_path(rel))
            entry: dict[str, Any] = {"role": role, "path": rel, "exists": path.is_file()}
            if path.is_file():
                st = path.stat()
                key = (str(path), st.st_size, st.st_mtime)
                if key not in self._model_hashes:  # hashed once per file version, not per page view
                    self._model_hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
                entry.update(size_bytes=st.st_size, sha256=self._model_hashes[key])
            out.append(entry)
        return out
