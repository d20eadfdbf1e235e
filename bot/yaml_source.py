"""Safe YAML reading that remembers line numbers, so every problem can say ``file:line``.

Maintainers edit these files by hand; an error that does not point at a line is
an error they cannot fix. Anchors and aliases are refused outright: nobody needs
them in a Q&A file, and they are how "billion laughs" bombs are built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a knowledge file, located for a human."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class LineDict(dict[str, Any]):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


# libyaml's parser is about ten times faster than PyYAML's pure-Python one, which
# matters for start-up; both give the same data and line numbers.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading that records lines and reports duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str]] = []


# Where an anchor (&name) or alias (*name) could start: a token opening with & or *.
# A prefix pattern's star ends its token ("thigh*"), so ordinary files skip the event pass.
_MAYBE_ALIAS = re.compile(r"(?:^|[\s\[{,:])[&*][^\s,\]}]", re.MULTILINE)


def _reject_aliases(text: str) -> None:
    """A separate event pass, because the C composer cannot be hooked per node."""
    if not _MAYBE_ALIAS.search(text):
        return
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None,
                "anchors and aliases (&name / *name) are not allowed in knowledge files",
                event.start_mark)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    for key_node, _ in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
        if key in data.key_lines:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, key))
        data.key_lines[key] = key_node.start_mark.line + 1
    data.update(loader.construct_mapping(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


class YamlReadError(Exception):
    """A file that could not be read as YAML at all; carries one located problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_yaml(path: Path, display: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one file; returns the data and the non-fatal problems (duplicate keys).

    Raises YamlReadError for anything that stops the file being read: size,
    encoding, syntax, aliases.
    """
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlReadError(Problem(name, 1, f"cannot read file: {exc.strerror}")) from exc
    if len(raw) > MAX_FILE_BYTES:
        size_mb = len(raw) / 1_000_000
        raise YamlReadError(
            Problem(
                name,
                1,
                f"file is {size_mb:.1f} MB; knowledge files are limited to "
                f"{MAX_FILE_BYTES // 1_000_000} MB (split it into several files)",
            )
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlReadError(
            Problem(name, line, "file is not valid UTF-8 text; save it with UTF-8 encoding")
        ) from exc
    loader = None
    try:
        _reject_aliases(text)
        loader = _LineLoader(text)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        problem = exc.problem or ""
        if exc.context_mark is not None and ("end of stream" in problem
                                             or "<stream end>" in problem):
            # An unclosed quote or bracket runs to the end of the file; point at its start.
            mark = exc.context_mark
            context = exc.context or ""
            opener = next((o for word, o in (("quoted", "a quote"), ("sequence", "a '['"),
                                             ("mapping", "a '{'")) if word in context), None)
            reason = (f"{opener} opened on this line is never closed" if opener
                      else f"{context.removeprefix('while ')} from this line runs to the end")
        if "nesting depth" in reason:
            reason = "the YAML is nested too deeply"
        line = mark.line + 1 if mark else 1
        raise YamlReadError(Problem(name, line, f"YAML syntax error: {reason}")) from exc
    except yaml.YAMLError as exc:
        raise YamlReadError(Problem(name, 1, f"YAML error: {exc}")) from exc
    except RecursionError as exc:
        raise YamlReadError(Problem(name, 1, "YAML is nested too deeply")) from exc
    finally:
        if loader is not None:
            loader.dispose()
    problems = [
        Problem(name, line, f"key '{key}' appears twice in the same block; keep one")
        for line, key in loader.duplicate_keys
    ]
    return data, problems
