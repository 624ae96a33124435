"""Reads an OML file into plain data plus the line/column of every key and list item.

Why not ``yaml.safe_load``: it silently keeps the last of two duplicate keys, turns ``on:`` into
``True`` and dates into ``datetime`` objects, and loses positions. Here mapping keys stay the
strings written, dates stay strings, duplicates are errors, and every problem becomes an
``OmlValidationError`` with one ``Issue`` carrying line and column, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from osiris.oml.issues import Issue, OmlValidationError, PathPart

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
"""Characters YAML refuses (tab, LF and CR are fine): binary data, in practice."""
MAX_NODES = 200_000
"""Bounds alias expansion (``&a [*a, *a, ...]``) so a hostile file cannot exhaust memory."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
    """A safe loader without the timestamp resolver: dates stay the strings that were written."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    """A parsed OML file: its data and where each path was written (1-based line, column)."""

    file: str
    data: dict[str, Any]
    marks: dict[tuple[PathPart, ...], tuple[int, int]] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path)

    def position(self, path: tuple[PathPart, ...]) -> tuple[int | None, int | None]:
        """Line and column of ``path`` or of its nearest written ancestor (none for the root)."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return (None, None)


def load_document(path: str | Path) -> Document:
    """Parse ``path``; any problem raises ``OmlValidationError`` with line and column."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _fail(name, "the file does not exist", "check the path") from None
    except IsADirectoryError:
        raise _fail(
            name, "this is a directory, not an OML file", "pass the pipeline's .yaml file"
        ) from None
    except OSError as exc:
        raise _fail(
            name, f"cannot read the file ({exc.strerror})", "check its permissions"
        ) from None
    document = parse_document(raw, name)
    document.base_dir = path.resolve().parent
    return document


def parse_document(raw: bytes | str, name: str = "<string>") -> Document:
    """Parse OML text (bytes must be UTF-8) into a ``Document``."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise _fail(
                name,
                f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                "OML files are YAML text in UTF-8",
                line,
                column,
            ) from None
    else:
        text = raw
    if not text.strip():
        raise _fail(
            name, "the file is empty", 'start with oml_version: "0.1.0", name and steps', 1, 1
        )
    control = _CONTROL.search(text)
    if control:  # checked here so both YAML back ends give the same answer
        before = text[: control.start()]
        line, column = before.count("\n") + 1, control.start() - (before.rfind("\n") + 1) + 1
        raise _fail(
            name,
            "the file contains a control character, it looks like binary data",
            "OML files are YAML text",
            line,
            column,
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _fail(
                name, "the file holds only comments", 'start with oml_version: "0.1.0"', 1, 1
            )
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            line, column = _pos(node.start_mark)
            raise _fail(
                name,
                f"the top level must be a mapping (oml_version, name, steps), found {kind}",
                'write the pipeline as keys, e.g. oml_version: "0.1.0"',
                line,
                column,
            )
        builder = _Builder(loader, name)
        data = builder.build(node, ())
        return Document(name, data, builder.marks)
    except yaml.YAMLError as exc:
        raise _yaml_error(name, text, exc) from None
    finally:
        loader.dispose()


class _Builder:
    """Builds plain data from YAML nodes, recording positions and rejecting duplicate keys."""

    def __init__(self, loader: _Loader, name: str) -> None:
        self.loader = loader
        self.name = name
        self.marks: dict[tuple[PathPart, ...], tuple[int, int]] = {}
        self.count = 0
        self.stack: set[int] = set()

    def build(self, node: yaml.Node, path: tuple[PathPart, ...]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(
                self.name,
                f"the file expands to more than {MAX_NODES} values",
                "remove the aliases that repeat large blocks",
                *_pos(node.start_mark),
            )
        if id(node) in self.stack:
            raise _fail(
                self.name,
                "an alias refers to itself",
                "remove the recursive alias",
                *_pos(node.start_mark),
            )
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    self.marks[(*path, i)] = _pos(item.start_mark)
                    items.append(self.build(item, (*path, i)))
                return items
            return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: tuple[PathPart, ...]) -> dict[str, Any]:
        written = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.loader.flatten_mapping(node)  # ``<<: *anchor``: merged pairs come first
        merged = len(node.value) - written
        out: dict[str, Any] = {}
        from_merge: set[str] = set()  # keys a later pair may override, as YAML merges allow
        for i, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail(
                    self.name,
                    "a mapping key must be a plain name, not a list or mapping",
                    "quote the key or restructure it",
                    *_pos(key_node.start_mark),
                )
            key = key_node.value
            if i < merged:
                from_merge.add(key)
            elif key in from_merge:
                from_merge.discard(key)
                del out[key]
            if key in out and key not in from_merge:
                first = self.marks[(*path, key)]
                raise _fail(
                    self.name,
                    f"duplicate key '{key}' (first written at line {first[0]})",
                    "keep only one of them",
                    *_pos(key_node.start_mark),
                )
            self.marks[(*path, key)] = _pos(key_node.start_mark)
            out[key] = self.build(value_node, (*path, key))
        return out


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _yaml_error(name: str, text: str, exc: yaml.YAMLError) -> OmlValidationError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = _pos(mark)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    lines = text.splitlines()
    at = lines[line - 1][column - 1 : column] if 0 < line <= len(lines) else ""
    if at == "\t" or "'\\t'" in problem:
        return _fail(
            name, "a tab character is used for indentation", "indent with spaces only", line, column
        )
    context = getattr(exc, "context", None)
    message = f"{context}, {problem}" if context else problem
    return _fail(
        name,
        f"invalid YAML: {message}",
        "check the indentation and quoting near this position",
        line,
        column,
    )


def _fail(
    name: str, message: str, fix: str, line: int | None = None, column: int | None = None
) -> OmlValidationError:
    return OmlValidationError(name, [Issue("", message, fix, "error", line, column)])
