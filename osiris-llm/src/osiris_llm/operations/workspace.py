"""Where a chat or an MCP server works: the project directory, its connections, its logs.

Every path an LLM or an MCP client gives is resolved through ``Workspace.resolve_path``, which
refuses anything outside the project directory (``..``, absolute paths elsewhere, symlinks out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import InvalidInputError

if TYPE_CHECKING:
    from osiris.connections import Connections
    from osiris.registry import Registry

PROTECTED_NAMES = frozenset({"osiris_connections.yaml", "osiris.yaml", ".env"})
"""Project files a tool may read through core but never overwrite: they hold settings and secrets."""


@dataclass
class Workspace:
    """A project directory and the core objects built for it (registry once, lazily)."""

    project_dir: Path
    connections_path: Path | None = None
    logs_dir: Path | None = None
    samples: bool = True
    """``False`` (``--no-samples``): ``sample`` is refused, so no row of data reaches a model."""
    prebuilt_registry: Registry | None = field(default=None, repr=False)
    """A registry given by the caller (tests, embedding tools); else the installed plugins'."""

    def __post_init__(self) -> None:
        self.project_dir = Path(self.project_dir).resolve()
        if not self.project_dir.is_dir():
            raise InvalidInputError(f"The project directory {self.project_dir} does not exist.")
        if self.connections_path is not None:
            self.connections_path = Path(self.connections_path)
        self.logs_dir = Path(self.logs_dir) if self.logs_dir else self.project_dir / "logs"
        if not self.logs_dir.is_absolute():
            self.logs_dir = self.project_dir / self.logs_dir

    def registry(self) -> Registry:
        """The component registry of the installed plugins, built on first use."""
        if self.prebuilt_registry is None:
            from osiris.registry import build_registry

            self.prebuilt_registry = build_registry()
        return self.prebuilt_registry

    def connections(self) -> Connections:
        """The connections file: the given one, else ``$OSIRIS_HOME``, else the project's."""
        from osiris.connections import load_connections

        return load_connections(self.connections_path, cwd=self.project_dir)

    def resolve_path(self, user_path: str, *, must_exist: bool = False) -> Path:
        """The absolute path of ``user_path`` (relative to the project), refused if it leaves it."""
        if not isinstance(user_path, str) or not user_path.strip() or "\x00" in user_path:
            raise InvalidInputError("The path must be a non-empty text path inside the project.")
        given = Path(user_path.strip()).expanduser()
        candidate = given if given.is_absolute() else self.project_dir / given
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise InvalidInputError(f"The path '{user_path}' cannot be resolved ({exc}).") from None
        if not resolved.is_relative_to(self.project_dir):
            raise InvalidInputError(
                f"The path '{user_path}' is outside the project directory {self.project_dir};"
                " give a path inside it (relative paths are relative to the project)."
            )
        if must_exist and not resolved.exists():
            raise InvalidInputError(f"The path '{user_path}' does not exist in the project.")
        return resolved

    def relative(self, path: Path) -> str:
        """``path`` as the client should see it: relative to the project, posix separators."""
        try:
            return Path(path).resolve().relative_to(self.project_dir).as_posix()
        except ValueError:
            return Path(path).name


def jsonable(value: Any) -> Any:
    """Plain JSON data (specs from YAML may hold dates or tuples); ``str`` for anything else."""
    return json.loads(json.dumps(value, default=str))


def masked(value: Any) -> Any:
    """``value`` with every secret resolved in this process replaced by ``***``."""
    from osiris.masking import process_masker

    return process_masker.mask_obj(jsonable(value))
