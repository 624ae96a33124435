"""Test helpers for plugin authors: contexts that record, and contract suites to subclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.context import StepContext


@dataclass
class Recorded:
    """What a driver reported through its context."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    metrics: list[tuple[str, float, str | None, dict[str, Any]]] = field(default_factory=list)

    def metric(self, name: str) -> float:
        """The sum of a metric's values (e.g. ``rows_written`` over batches)."""
        return sum(value for metric, value, _, _ in self.metrics if metric == name)


def make_context(
    tmp_path: Path,
    *,
    step_id: str = "step",
    connection: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    incremental: Mapping[str, Any] | None = None,
    verify: str | None = None,
) -> tuple[StepContext, Recorded]:
    """A ``StepContext`` for calling a driver directly in a test, plus what it recorded."""
    recorded = Recorded()
    artifacts = tmp_path / "artifacts" / step_id
    artifacts.mkdir(parents=True, exist_ok=True)
    ctx = StepContext(
        step_id=step_id,
        artifacts_dir=artifacts,
        base_dir=base_dir or tmp_path,
        connection=connection,
        incremental=incremental,
        verify=verify,
        event_sink=lambda event, fields: recorded.events.append((event, fields)),
        metric_sink=lambda m, v, unit, tags: recorded.metrics.append((m, v, unit, tags)),
    )
    return ctx, recorded


def __getattr__(name: str) -> Any:
    """The contract suites import pytest, so they load only when asked for."""
    if name in ("ComponentContractTests", "ConnectionFamilyContractTests"):
        from osiris.testing import contracts

        return getattr(contracts, name)
    raise AttributeError(f"module 'osiris.testing' has no attribute {name!r}")
