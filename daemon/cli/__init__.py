"""The ``maskwatch`` command line: one module per command group, one error path.

Every command's bad argument or input ends the same way: one line on stderr naming the
command, exit 2, no traceback (argparse's own errors included).
"""

from __future__ import annotations

import argparse
import faulthandler
import sys
from typing import NoReturn

from daemon.cli import bench, config, console, history, models, run
from daemon.cli.common import CommandError

GROUPS = (run, config, history, console, models, bench)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage stays behind ``--help``)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="maskwatch", description="Face-mask compliance daemon for video surveillance.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    # a native abort (OpenCV, ONNX Runtime, torch) leaves every thread's Python stack in the
    # journal or the test log instead of a bare "Aborted"
    if not faulthandler.is_enabled():
        faulthandler.enable()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"maskwatch {args.command}: {exc}", file=sys.stderr)
        return 2
