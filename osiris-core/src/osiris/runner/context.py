"""What an execution adapter gets: where to report, what is installed, how to resolve connections."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from osiris.masking import Masker, process_masker

if TYPE_CHECKING:
    from osiris.registry import Registry
    from osiris.runner.manifest import Manifest


class RunSink(Protocol):
    """Where a run reports: a ``Session`` locally, JSON lines on stdout in the e2b worker."""

    id: str
    masker: Masker

    def event(self, name: str, **fields: Any) -> Any: ...

    def metric(self, name: str, value: float, unit: str | None = None, **tags: Any) -> Any: ...

    def log_exception(self, message: str, exc: BaseException) -> None: ...


def default_max_workers() -> int:
    """Enough threads to overlap independent branches without oversubscribing small machines."""
    return min(4, os.cpu_count() or 1)


@dataclass
class ExecutionContext:
    """Shared by ``prepare``, ``execute`` and ``collect`` of one run."""

    session: RunSink
    registry: Registry
    run_dir: Path
    """The session directory: spills go to ``run_dir/spill``."""
    artifacts_dir: Path
    manifest_path: Path
    masker: Masker = field(default_factory=Masker)
    max_workers: int = field(default_factory=default_max_workers)
    connections_path: Path | None = None
    adapter: str = "local"
    plan: Manifest | None = None
    """The loaded manifest, when the caller has it already (saves parsing it again)."""
    run_options: dict[str, Any] = field(default_factory=dict)
    """Run-wide options every adapter honours (JSON-serialisable): a remote adapter forwards
    them to ``python -m osiris.worker --run-options FILE`` unchanged."""
    adapter_options: dict[str, Any] = field(default_factory=dict)
    """Options for the selected adapter only, as given on the command line
    (``{"e2b": {"template": ...}}``); never forwarded to the worker."""
    _connections: Any = field(default=None, repr=False)

    @property
    def compiled_dir(self) -> Path:
        return self.manifest_path.parent

    def mask(self, value: Any) -> Any:
        """This run's secrets and every secret resolved in the process become ``***``."""
        return process_masker.mask_obj(self.masker.mask_obj(value))

    def event(self, name: str, **fields: Any) -> None:
        self.session.event(name, **fields)

    def metric(self, name: str, value: float, unit: str | None = None, **tags: Any) -> None:
        self.session.metric(name, value, unit, **tags)

    @property
    def connections(self) -> Any:
        """``osiris.connections.Connections``, loaded on first use (a pipeline may need none)."""
        if self._connections is None:
            from osiris.connections import load_connections

            self._connections = load_connections(self.connections_path)
        return self._connections

    def resolve_connection(self, ref: str) -> Any:
        """Resolve ``@family.alias``; its secrets join this run's masker before anything is logged."""
        resolved = self.connections.resolve(ref, self.registry)
        self.masker.add_secrets(resolved.secret_values)
        family = self.registry.families.get(resolved.family)
        if family is not None:
            self.masker.add_fields(getattr(family.item, "secret_fields", ()) or ())
        return resolved
