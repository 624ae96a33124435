"""``${VAR}`` / ``${VAR:-default}`` substitution and ``.env`` reading.

Variables come from the process environment first, then ``.env`` files (exported variables win).
An empty value counts as unset, so ``${VAR:-x}`` gives ``x`` when ``VAR=""`` and ``${VAR}`` is
missing. ``$$`` writes a literal ``$``; any other ``$`` is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from osiris.errors import InvalidInputError

_TOKEN = re.compile(r"\$\$|\$\{(?P<body>[^}]*)\}|\$\{(?P<open>[^}]*)$")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)
_DOTENV_LINE = re.compile(r"(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)")

_QUOTED = re.compile(r"'(?P<single>[^']*)'|\"(?P<double>(?:[^\"\\]|\\.)*)\"")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t"}


class VariableSyntaxError(ValueError):
    """A ``${...}`` that is not ``${NAME}`` or ``${NAME:-default}``."""


@dataclass
class Substitution:
    """The result of substituting one string: the text, and the variables that were missing."""

    text: str
    missing: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


class Variables:
    """Looks variables up in layers, first non-empty value wins."""

    def __init__(self, layers: Iterable[Mapping[str, str]]) -> None:
        self._layers = list(layers)

    def get(self, name: str) -> str | None:
        for layer in self._layers:
            value = layer.get(name)
            if value:
                return value
        return None

    def substitute(self, text: str) -> Substitution:
        """Replace every ``${...}`` in ``text``; missing variables are reported, not raised."""
        result = Substitution(text)

        def replace(match: re.Match[str]) -> str:
            if match[0] == "$$":
                return "$"
            if match["open"] is not None:
                raise VariableSyntaxError(f"'${{{match['open']}' has no closing '}}'")
            body = _BODY.fullmatch(match["body"])
            if body is None:
                raise VariableSyntaxError(
                    f"'${{{match['body']}}}' is not ${{NAME}} or ${{NAME:-default}}"
                )
            name, default = body["name"], body["default"]
            result.used.append(name)
            value = self.get(name)
            if value is not None:
                return value
            if default is not None:
                return default
            result.missing.append(name)
            return match[0]

        result.text = _TOKEN.sub(replace, text)
        return result


def read_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines (optional ``export``, quotes, ``#`` comments); no expansion."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in _dotenv_text(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _DOTENV_LINE.fullmatch(line)
        if match is None:
            continue
        values[match["key"]] = _dotenv_value(match["value"].strip())
    return values


def _dotenv_text(path: Path) -> str:
    """The file's text; an unreadable or non-UTF-8 ``.env`` is one sentence, not a traceback."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}).",
            hint="Save it as UTF-8.",
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {path}: {exc.strerror}.") from None


def _dotenv_value(value: str) -> str:
    quoted = _QUOTED.match(value)
    if quoted is not None:
        if quoted["single"] is not None:
            return quoted["single"]
        return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), quoted["double"])
    if " #" in value:  # an unquoted value ends where an inline comment starts
        value = value.split(" #", 1)[0].rstrip()
    return value
