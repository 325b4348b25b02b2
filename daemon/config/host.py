"""Checks that hold only on the host that runs the daemon, made before any model loads.

A port in use would otherwise surface as a traceback after the models' ten seconds of loading.
"""

from __future__ import annotations

import socket

from daemon.config.settings import Settings

Loc = tuple[int | str, ...]


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


def host_problems(settings: Settings) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    if settings.metrics.enabled and settings.metrics.port:
        why = port_in_use(settings.metrics.host, settings.metrics.port)
        if why:
            problems.append((("metrics", "port"), why))
    return problems
