"""Load the YAML settings: ``${ENV}`` substitution, validation, errors with path and line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from daemon.config.settings import Settings

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Loc = tuple[int | str, ...]


class ConfigError(Exception):
    """Every problem of a configuration file, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the deepest node along ``loc`` (a missing key reports its parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    # an unknown key is reported on its own line, a value on the value's
                    child = value_node if part != loc[-1] else key_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _substitute(value: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), problems) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            problems.append((loc, f"environment variable {name} is not set"))
            return ""

        return ENV_REF.sub(repl, value)
    return value


def parse_settings(text: str, source: str = "<config>") -> Settings:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{source}: not valid YAML: {problem}{where}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping with a 'cameras' list"])
    env_problems: list[tuple[Loc, str]] = []
    data = _substitute(data, (), env_problems)
    problems = [f"{format_loc(loc)}: {msg} (line {_line_of(root, loc)})" for loc, msg in env_problems]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{format_loc(loc)}: {msg} (line {_line_of(root, loc)})")
        raise ConfigError(sorted(problems, key=_line_key)) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _line_key(problem: str) -> int:
    match = re.search(r"\(line (\d+)\)$", problem)
    return int(match.group(1)) if match else 0


def load_settings(path: str | Path) -> Settings:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_settings(text, str(path))
