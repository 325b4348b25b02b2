"""Load the YAML settings: ``${ENV}`` substitution, validation, errors with path and line.

The file is read as a hostile input: at most ``MAX_BYTES``, UTF-8 only, no YAML aliases
(an alias bomb expands to gigabytes from a few hundred bytes), no duplicate keys (the last
one would silently win), bounded nesting. Every refusal is a one-line ``ConfigError`` problem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from config.settings import Settings

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
MAX_BYTES = 1_000_000  # a real configuration is a few KB; this bounds parse time and memory
MAX_DEPTH = 32  # the settings tree is 4 deep; deeper input is an attack on the recursive composer
MAX_NODES = 20_000  # ~700 fully written cameras; 1 MB of "{}," is 300 000 nodes (23 s and 1 GB validating)
MAX_PROBLEMS = 100  # the rest are counted: a million error lines help nobody
Loc = tuple[int | str, ...]


class ConfigError(Exception):
    """Every problem of a configuration file, one line each."""

    def __init__(self, problems: list[str]):
        # one problem, one line, whatever a message or a key echoed from the file contains
        self.problems = [p.replace("\r", "\\r").replace("\n", "\\n") for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(self.problems))


class RefusedYAMLError(ComposerError):
    """Valid YAML that the settings loader will not expand (an alias, nesting too deep, too many values)."""


# libyaml's parser when PyYAML has it: the refusals below cost 0.1 s on 1 MB instead of seconds
EVENT_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse_expensive(text: str) -> None:
    """One pass over the parser's events, before any node is built: aliases, depth and size refused."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=EVENT_LOADER):
        problem = None
        if isinstance(event, yaml.AliasEvent):
            problem = "YAML aliases (*name) are not allowed in the settings"
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            nodes += 1
            depth += isinstance(event, yaml.CollectionStartEvent)
            if depth > MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
            elif nodes > MAX_NODES:
                problem = f"more than {MAX_NODES} values"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if problem:
            raise RefusedYAMLError(None, None, problem, event.start_mark)  # type: ignore[arg-type]  # libyaml's Mark: same fields


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose value errors (a 5000-digit integer, a 30th of February) carry their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # a 5000-digit integer, a 30th of February
            raise ConstructorError(None, None, str(exc), node.start_mark) from None


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]" if not isinstance(part, int) else f"[{part}]"
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


def _duplicate_keys(node: yaml.Node, loc: Loc, problems: list[str]) -> None:
    """A key given twice in one mapping: YAML keeps the last silently, we name both lines."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key, line = str(key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    problems.append(f"{format_loc((*loc, key))}: key given twice (lines {seen[key]} and {line})")
                else:
                    seen[key] = line
                _duplicate_keys(value_node, (*loc, key), problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _duplicate_keys(child, (*loc, i), problems)


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


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return f"character #x{exc.character:04x} is not allowed in YAML (line {line})"
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return f"{getattr(exc, 'problem', None) or exc}{where}"


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    loader: StrictLoader | None = None
    try:
        _refuse_expensive(text)
        loader = StrictLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None, None
        duplicates: list[str] = []
        _duplicate_keys(root, (), duplicates)
        if duplicates:
            raise ConfigError([f"{source}: {d}" for d in duplicates])
        return root, loader.construct_document(root)
    except RefusedYAMLError as exc:
        raise ConfigError([f"{source}: {_yaml_problem(exc, text)}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML: {_yaml_problem(exc, text)}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_settings(text: str, source: str = "<config>", for_run: bool = False) -> Settings:
    """``for_run`` adds the checks that only hold on the host that runs the daemon now (its ports are free)."""
    root, data = _compose(text.removeprefix("\ufeff"), source)
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
    from config.host import host_problems

    problems += [
        f"{format_loc(loc)}: {msg} (line {_line_of(root, loc)})" for loc, msg in host_problems(settings, for_run)
    ]
    if problems:
        raise ConfigError(problems)
    return settings


def _line_key(problem: str) -> int:
    match = re.search(r"\(line (\d+)\)$", problem)
    return int(match.group(1)) if match else 0


def read_config_text(path: Path) -> str:
    """The file's text: at most ``MAX_BYTES`` read (a FIFO or /dev/zero ends too), UTF-8 or a clear error."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_BYTES // 1_000_000} MB: not a maskwatch configuration"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{path}: not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line})"]
        ) from None


def load_settings(path: str | Path, for_run: bool = False) -> Settings:
    path = Path(path)
    return parse_settings(read_config_text(path), str(path), for_run)
