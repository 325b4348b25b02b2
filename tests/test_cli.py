"""Every command's bad argument ends the same way: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import pytest

from daemon.cli import build_parser
from tests.conftest import run_cli


def _commands() -> list[list[str]]:
    """Every leaf command of the parser (``train mask``, ``config check`` ...), found, not listed."""
    import argparse

    def leaves(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [prefix]
        return [leaf for name, p in subs[0].choices.items() for leaf in leaves(p, [*prefix, name])]

    return leaves(build_parser(), [])


COMMANDS = _commands()


def test_the_parser_has_every_command_group() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"run", "reader", "infer", "events", "config check", "violations", "stats", "alerts", "scan"} <= names
    assert {"train mask", "train face", "eval", "bench", "soak", "console", "export"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_a_bad_argument_is_one_line_and_exit_2(command: list[str]) -> None:
    res = run_cli(*command, "--no-such-flag", timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("maskwatch"), res.stderr
    assert "Traceback" not in res.stderr


def test_train_takes_only_its_own_flags() -> None:
    res = run_cli("train", "face", "--arch", "thesis")  # --arch is the mask trainer's
    assert res.returncode == 2 and "--arch" in res.stderr and res.stderr.strip().count("\n") == 0
