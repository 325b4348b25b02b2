"""``maskwatch config check``."""

from __future__ import annotations

import argparse
from typing import Any

from daemon.cli.common import load


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = load(args.file)
    print(f"{args.file}: OK ({len(settings.cameras)} camera(s))")
    return 0


def register(sub: Any) -> None:
    cfg = sub.add_parser("config", help="configuration tools").add_subparsers(dest="action", required=True)
    sp = cfg.add_parser("check", help="validate a settings file; every error with its path and line")
    sp.add_argument("file")
    sp.set_defaults(func=cmd_config_check)
