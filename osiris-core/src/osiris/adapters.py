"""Execution adapters: where a compiled pipeline runs (``local``, ``e2b``, ...).

An adapter turns a compiled manifest into a run in three phases so that remote adapters can
upload before and download after: ``prepare`` → ``execute`` → ``collect``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext


@dataclass
class PreparedRun:
    """Everything an adapter needs to execute, fixed before execution starts."""

    manifest: dict[str, Any]
    compiled_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecResult:
    """Outcome of ``execute``: per-step outcomes in manifest order."""

    ok: bool
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class CollectedArtifacts:
    """Files the run produced, relative to the session's artifacts directory."""

    files: list[Path] = field(default_factory=list)


class ExecutionAdapter(ABC):
    """Base class of adapters registered through ``register_execution_adapters``."""

    name: ClassVar[str]

    @abstractmethod
    def prepare(self, manifest: dict[str, Any], ctx: ExecutionContext) -> PreparedRun: ...

    @abstractmethod
    def execute(self, prepared: PreparedRun, ctx: ExecutionContext) -> ExecResult: ...

    @abstractmethod
    def collect(self, prepared: PreparedRun, ctx: ExecutionContext) -> CollectedArtifacts: ...
