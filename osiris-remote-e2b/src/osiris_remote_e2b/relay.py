"""The worker's JSON lines turned into this session's events and metrics, as they arrive.

Sandbox paths in any value are mapped back to the paths a local run would show (the mirror of
the host's files, the run and compiled directories), so a relayed event is the local one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext


class PathMap:
    """Replaces sandbox path prefixes with host ones in every string of a value."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = sorted(pairs, key=lambda pair: -len(pair[0]))

    def host(self, value: Any) -> Any:
        if isinstance(value, str):
            for remote, local in self.pairs:
                if remote in value:
                    value = value.replace(remote, local)
            return value
        if isinstance(value, dict):
            return {key: self.host(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.host(item) for item in value]
        return value


class Relay:
    """``on_line`` for the worker's stdout: events and metrics go to the session at once."""

    def __init__(self, ctx: ExecutionContext, paths: PathMap) -> None:
        self.ctx = ctx
        self.paths = paths
        self.result: dict[str, Any] | None = None
        self.stray: list[str] = []
        """Lines that were not the worker's JSON (a driver printing to stdout)."""
        self.started: set[str] = set()
        self.outcomes: dict[str, dict[str, Any]] = {}
        """Step id -> outcome, from the step events seen (for a run that ends without a result)."""
        self.lines = 0

    def __call__(self, line: str) -> None:
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            self.stray.append(line)
            return
        if not isinstance(record, dict) or "kind" not in record:
            self.stray.append(line)
            return
        self.lines += 1
        kind = record.pop("kind")
        record.pop("ts", None)
        record = self.paths.host(record)
        if kind == "event":
            name = record.pop("event")
            self._track(name, record)
            self.ctx.event(name, **record)
        elif kind == "metric":
            name = record.pop("metric")
            value = record.pop("value")
            unit = record.pop("unit", None)
            self.ctx.metric(name, value, unit, **record)
        elif kind == "result":
            self.result = record
        else:
            self.stray.append(line)

    def _track(self, name: str, record: dict[str, Any]) -> None:
        step = record.get("step_id")
        if not step:
            return
        if name == "step_start":
            self.started.add(step)
        elif name == "step_complete":
            self.outcomes[step] = {
                "status": "succeeded",
                "rows": record.get("rows"),
                "duration_ms": record.get("duration_ms"),
                "error": None,
            }
        elif name == "step_error":
            self.outcomes[step] = {
                "status": "failed",
                "rows": None,
                "duration_ms": record.get("duration_ms"),
                "error": record.get("error"),
            }
        elif name == "step_skipped":
            self.outcomes[step] = {
                "status": "skipped",
                "rows": None,
                "duration_ms": None,
                "error": record.get("reason"),
            }

    def steps_so_far(self, error: str) -> dict[str, dict[str, Any]]:
        """What the events said; a step started but not ended failed with ``error``."""
        steps = dict(self.outcomes)
        for step in self.started - set(steps):
            steps[step] = {"status": "failed", "rows": None, "duration_ms": None, "error": error}
        return steps
