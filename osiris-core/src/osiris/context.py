"""The context a driver receives: where to write artifacts, how to report, what it connects to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EventSink = Callable[[str, dict[str, Any]], None]
MetricSink = Callable[[str, float, "str | None", dict[str, Any]], None]


def _drop_event(event: str, fields: dict[str, Any]) -> None:
    """Default sink for contexts built outside a run."""


def _drop_metric(metric: str, value: float, unit: str | None, tags: dict[str, Any]) -> None:
    """Default sink for contexts built outside a run."""


@dataclass
class StepContext:
    """Handed to ``driver.run(ctx=...)``. Events and metrics are tagged with the step id."""

    step_id: str
    artifacts_dir: Path
    base_dir: Path
    """Directory that relative paths in the step's config resolve against (the pipeline's)."""
    connection: Mapping[str, Any] | None = None
    """Resolved connection fields, secrets included; ``None`` for steps without a connection."""
    connection_ref: str | None = None
    """The symbolic reference (``@mysql.default``), safe to show."""
    incremental: Mapping[str, Any] | None = None
    """For a step with ``incremental:``: ``{"cursor", "last"}`` handed by the host, where
    ``last`` is the stored high-water mark (``{"type", "value"}``) or None to read everything."""
    verify: str | None = None
    """The run-wide verification level (``osiris run --verify``, the run option ``verify``);
    writers take the stronger of it and their own ``verify:`` (osiris.verify.mode_for). Not in
    the manifest, so compiled fingerprints do not depend on it."""
    event_sink: EventSink = field(default=_drop_event, repr=False)
    metric_sink: MetricSink = field(default=_drop_metric, repr=False)

    def log_event(self, event: str, **fields: Any) -> None:
        self.event_sink(event, {"step_id": self.step_id, **fields})

    def log_metric(self, metric: str, value: float, unit: str | None = None, **tags: Any) -> None:
        self.metric_sink(metric, value, unit, {"step_id": self.step_id, **tags})
