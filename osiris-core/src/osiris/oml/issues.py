"""Validation issues: where (path, line, column), what is wrong, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from osiris.errors import InvalidInputError

Severity = Literal["error", "warning"]
PathPart = str | int
Position = Callable[[tuple[PathPart, ...]], tuple[int | None, int | None]]
"""Where a path was written in the file: (line, column), or (None, None)."""


@dataclass(frozen=True)
class Issue:
    """One problem of a pipeline. ``path`` reads like ``steps[2].config.query``."""

    path: str
    message: str
    fix: str = ""
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self, file: str | None = None) -> str:
        """``file:line:col: error: path: message (fix)`` — the text form the CLI prints."""
        where = file or ""
        if where and self.line is not None:
            where += f":{self.line}:{self.column}"
        head = f"{where}: " if where else ""
        path = f"{self.path}: " if self.path else ""
        fix = f" ({self.fix})" if self.fix else ""
        return f"{head}{self.severity}: {path}{self.message}{fix}"


class OmlValidationError(InvalidInputError):
    """The pipeline file is not valid OML; ``issues`` holds every problem found (exit 2)."""

    def __init__(self, file: str, issues: Sequence[Issue]) -> None:
        self.file = file
        self.issues = list(issues)
        errors = self.errors
        shown = "; ".join(_inline(i) for i in errors[:5])
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        noun = "error" if len(errors) == 1 else "errors"
        only_fix = errors[0].fix if len(errors) == 1 else ""
        super().__init__(
            f"{file} is not valid OML ({len(errors)} {noun}): {shown}{more}.",
            hint=only_fix or f"Run `osiris oml validate {file}` for the full list with fixes.",
        )

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def _inline(issue: Issue) -> str:
    where = f"line {issue.line}: " if issue.line is not None and not issue.path else ""
    return f"{where}{issue.path + ': ' if issue.path else ''}{issue.message.rstrip('.')}"


def format_path(parts: Sequence[PathPart]) -> str:
    """``("steps", 2, "config", "query")`` → ``steps[2].config.query``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def allowed_hint(name: object, allowed: Sequence[str]) -> str:
    """``did you mean 'table'? allowed: a, b, table`` — the fix for an unknown name."""
    close = difflib.get_close_matches(str(name), list(allowed), n=1)
    did_you_mean = f"did you mean '{close[0]}'? " if close else ""
    return f"{did_you_mean}allowed: {', '.join(allowed) or 'none'}"
