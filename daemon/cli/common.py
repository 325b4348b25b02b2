"""What every command group shares: loading settings, the history database, time
arguments, table/json/csv output, and the one error path (one line on stderr, exit 2)."""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_CONFIG = os.environ.get("MASKWATCH_CONFIG", "config/maskwatch.yaml")
CHECKOUT = Path(__file__).resolve().parents[2]


class CommandError(Exception):
    """A bad argument or input of a command: printed as one line, exit 2."""


def checkout_module(command: str, module: str) -> ModuleType:
    """Training and benchmark code stays in the repository (not in the wheel): import it from
    the checkout this CLI runs from, or say that the command needs one."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name not in (top, module) or not (CHECKOUT / top).is_dir():
            if exc.name in (top, module):
                raise CommandError(
                    f"maskwatch {command} runs from a checkout of maskwatch ({top}/ is not installed)"
                ) from None
            raise
        sys.path.insert(0, str(CHECKOUT))
        return importlib.import_module(module)


def load(path: str, for_run: bool = False) -> Any:
    """The settings, or every problem on stderr and exit 2; ``for_run`` also checks this host (ports free)."""
    from config import ConfigError, load_settings

    try:
        return load_settings(path, for_run=for_run)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}" if not problem.startswith(path) else problem, file=sys.stderr)
        raise SystemExit(2) from None


def fail(args: argparse.Namespace, message: str) -> SystemExit:
    """One line on stderr naming the command; the caller raises the returned exit 2."""
    print(f"maskwatch {args.command}: {message}", file=sys.stderr)
    return SystemExit(2)


def history_db(args: argparse.Namespace) -> Any:
    """The history database, which must already exist: a mistyped path is an error, not a new empty database."""
    from config.runtime import parse_database_url

    url = args.db or load(args.config).database.url
    try:
        parsed = parse_database_url(url)
    except ValueError as exc:
        raise fail(args, str(exc)) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        if not Path(database).is_file():
            raise fail(args, f"no database at {database} (the daemon creates it; check the path)")
    return open_db(args, url)


def open_db(args: argparse.Namespace, url: str) -> Any:
    """``Database(url)``, or one line (the driver's first, masked) and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    try:
        return Database(url)
    except (SQLAlchemyError, OSError) as exc:
        raise fail(args, f"cannot open the database: {db_error_line(exc)}") from None


def db_error_line(exc: Exception) -> str:
    """The driver's first line (psycopg's run over several), masked: it may quote the URL."""
    from workers.sources import mask_url

    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return mask_url(first)


def when(args: argparse.Namespace, text: str | None) -> Any:
    """``--since``/``--until`` of every history command, through the one time parser."""
    from daemon.timeparse import parse_when

    if not text:
        return None
    try:
        return parse_when(text)
    except ValueError as exc:
        raise fail(args, str(exc)) from None


def emit(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=1, default=str))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        print(buf.getvalue(), end="")
    else:
        widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns))
        for r in rows:
            print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def add_db_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--config", default=DEFAULT_CONFIG, help="settings YAML (for the database URL)")
    sp.add_argument("--db", help="database URL (overrides the config)")
    sp.add_argument("--format", choices=["table", "json", "csv"], default="table")


def report_media_error(command: str, item: str, exc: OSError, as_json: bool) -> None:
    """One line on stderr per bad file, and with ``--json`` an error object in the output stream."""
    reason = str(exc).removeprefix(f"{item}: ")
    print(f"maskwatch {command}: {item}: {reason}", file=sys.stderr)
    if as_json:
        print(json.dumps({"file": item, "error": reason}), flush=True)


def media_exit_code(missing: int, unreadable: int) -> int:
    """2 when a path does not exist (a typo), 1 when a file could not be read, 0 when all went through."""
    return 2 if missing else 1 if unreadable else 0
