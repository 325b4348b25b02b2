"""Checks of the settings against this host, made at load before any model loads: the SQLite
folder can be written (``config check`` and ``run``), the metrics port is free (``run`` only).

A port in use would otherwise surface as a traceback after the models' ten seconds of loading.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from config.settings import Settings

Loc = tuple[int | str, ...]


def sqlite_path_problem(url: URL) -> str | None:
    """Why the daemon could not create or write this SQLite file, or None (in-memory databases are fine)."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    if path.exists():
        if path.is_dir():
            return f"{path} is a folder, not a database file"
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not writable"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists gets the new ones
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot create {path.parent}: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create {path}: folder {folder} is not writable"
    return None


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound now (the way the metrics server will bind it), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does
            sock.bind(address)
    except OSError as exc:
        return f"{host}:{port} cannot be bound: {exc.strerror or exc}"
    return None


def host_problems(settings: Settings, for_run: bool) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    url = make_url(settings.database.url)  # parsed already by the field's validator
    why = sqlite_path_problem(url) if url.get_backend_name() == "sqlite" else None
    if why:
        problems.append((("database", "url"), why))
    if for_run and settings.metrics.enabled and settings.metrics.port:
        why = port_in_use(settings.metrics.host, settings.metrics.port)
        if why:
            problems.append((("metrics", "port"), why))
    return problems
