"""The security desk: ``maskwatch console`` (serve it alone, or make hashes for its config)
and ``maskwatch export reviewed`` (the reviewers' verdicts as training data)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from daemon.cli.common import DEFAULT_CONFIG, CommandError, history_db, load


def _hash_password() -> int:
    import getpass

    from daemon.console.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("hash-password: the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise CommandError("hash-password: use at least 8 characters")
    print(hash_password(password))
    return 0


def _hash_token() -> int:
    import secrets

    from daemon.console.auth import hash_token

    token = secrets.token_urlsafe(32)
    print(f"token (give it to the API client, it is not kept): {token}")
    print(f"token_hash (put it in console.api_tokens): {hash_token(token)}")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    """Serve the console on its own, or make a password hash / API token for the config."""
    if args.action == "hash-password":
        return _hash_password()
    if args.action == "hash-token":
        return _hash_token()
    from daemon.console.server import ConsoleError, serve
    from daemon.logs import setup_logging
    from storage.db import Database

    settings = load(args.config)
    setup_logging(settings.logging.level, settings.logging.format)
    db = Database(settings.database.url)
    try:
        handle = serve(settings, db)
    except ConsoleError as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5) and handle.thread is not None and handle.thread.is_alive():
        pass
    handle.stop()
    db.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from daemon.console.export import export_reviewed

    manifest = export_reviewed(history_db(args), Path(args.dir))
    counts: dict[str, int] = {}
    for item in manifest["items"]:
        counts[item["label"]] = counts.get(item["label"], 0) + 1
    shown = ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) or "nothing reviewed yet"
    print(f"{args.dir}: {shown}; {manifest['skipped']} skipped (no crop file or reason 'other')")
    return 0


def register(sub: Any) -> None:
    sp = sub.add_parser("console", help="the web console on its own; hash-password / hash-token for its config")
    sp.add_argument(
        "action",
        nargs="?",
        choices=["serve", "hash-password", "hash-token"],
        default="serve",
        help="serve (default): the console and /api/ over the configured database; hash-password: an argon2 "
        "hash of a password read from the terminal or stdin; hash-token: a new API token and its hash",
    )
    sp.add_argument("--config", default=DEFAULT_CONFIG)
    sp.set_defaults(func=cmd_console)

    sp = sub.add_parser("export", help="export data for training")
    sp.add_argument("what", choices=["reviewed"], help="reviewed: the reviewed face crops, by the reviewers' label")
    sp.add_argument("dir", help="output folder: DIR/<label>/<violation id>.jpg and DIR/manifest.json")
    sp.add_argument("--config", default=DEFAULT_CONFIG, help="settings YAML (for the database URL)")
    sp.add_argument("--db", help="database URL (overrides the config)")
    sp.set_defaults(func=cmd_export)
