"""The console's uvicorn server in a thread of its own, so the pipeline never waits on a browser.

``start_console`` is the one hook the daemon's processes call (after the metrics server,
stopped before the database closes); it does nothing when ``console.enabled`` is off.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from config.settings import Settings
from storage.db import Database

if TYPE_CHECKING:  # the web stack is imported only when the console is on
    import uvicorn

    from core.messages import Frame
    from daemon.console.state import Console

log = logging.getLogger("maskwatch.console")


class ConsoleError(Exception):
    """The console cannot start (its port is taken, its TLS files are unreadable)."""


class Stoppable(Protocol):
    def stop(self) -> None: ...


class ConsoleHandle:
    """What ``start_console`` returns: where it listens, and ``stop()`` (of it and what started with it)."""

    def __init__(
        self,
        server: uvicorn.Server | None = None,
        thread: threading.Thread | None = None,
        console: Console | None = None,
        url: str | None = None,
    ):
        self.server = server
        self.thread = thread
        self.console = console
        self.url = url
        self.companions: list[Stoppable] = []

    def stop(self) -> None:
        for companion in self.companions:
            companion.stop()
        if self.server is None or self.thread is None or self.console is None:
            return
        self.console.stopping.set()  # event streams end at their next tick
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.thread.is_alive():
            log.warning("console: the web server did not stop within 10 s")


def start_console(
    settings: Settings,
    db: Database,
    health: Callable[[], dict[str, Any]] | None = None,
    serve_here: bool = True,
    frames: Mapping[str, Frame] | None = None,
) -> ConsoleHandle:
    """The desk side of a daemon process: the console when it is enabled, Home Assistant discovery when
    ``mqtt.discovery`` is on.

    ``serve_here``: one process of a deployment serves them (the events role that dispatches);
    ``frames``: each camera's last sampled frame, where the readers run in this process.
    """
    handle = ConsoleHandle()
    if serve_here and settings.console.enabled:
        try:
            handle = serve(settings, db, health, frames)
        except ConsoleError as exc:  # the cameras matter more than the desk: watch on, without the console
            log.error("%s; the daemon runs without it", exc)
    if serve_here and settings.mqtt.enabled and settings.mqtt.discovery:
        from alerts.homeassistant import HomeAssistantPublisher

        handle.companions.append(HomeAssistantPublisher(settings, db).start())
    return handle


def serve(
    settings: Settings,
    db: Database,
    health: Callable[[], dict[str, Any]] | None = None,
    frames: Mapping[str, Frame] | None = None,
) -> ConsoleHandle:
    import uvicorn

    from daemon.console.app import create_app
    from daemon.console.auth import Authenticator, first_user
    from daemon.console.state import Console

    cfg = settings.console
    family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
    try:  # bound here so a taken port is a clear error at start, and port 0 is known at once
        sock = socket.create_server((cfg.host, cfg.port), family=family, reuse_port=False)
    except OSError as exc:
        raise ConsoleError(f"console: cannot listen on {cfg.host}:{cfg.port}: {exc}") from None
    port = sock.getsockname()[1]
    users, password = first_user(cfg)
    console = Console(settings, db, Authenticator(cfg, users), health, frames)
    config = uvicorn.Config(
        create_app(console),
        log_config=None,  # the daemon's logging setup, not uvicorn's
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        ssl_certfile=cfg.tls_cert,
        ssl_keyfile=cfg.tls_key,
        proxy_headers=True,  # X-Forwarded-Proto from a reverse proxy on 127.0.0.1 makes cookies Secure
    )
    try:
        config.load()  # here, not in the thread: unreadable TLS files are an error at start
    except (OSError, ValueError) as exc:
        sock.close()
        if password is not None:  # never shown: the next start makes the first user again
            Path(cfg.first_user_file).unlink(missing_ok=True)
        raise ConsoleError(f"console: TLS files {cfg.tls_cert}, {cfg.tls_key}: {exc}") from None
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="console", daemon=True)
    thread.start()
    scheme = "https" if cfg.tls_cert else "http"
    shown_host = f"[{cfg.host}]" if family == socket.AF_INET6 else cfg.host
    url = f"{scheme}://{shown_host}:{port}/"
    log.info("console on %s%s", url, f" (public URL {cfg.public_url})" if cfg.public_url else "")
    if password is not None:
        # the one time this password exists outside the user's head: straight to the terminal, not the log
        print(
            f"console: first start: log in at {url} as 'admin' with password {password} "
            f"(shown once; only its hash is kept in {cfg.first_user_file})",
            file=sys.stderr,
            flush=True,
        )
    return ConsoleHandle(server, thread, console, url)
