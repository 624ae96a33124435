"""Comparing a local session with a remote one: the one normalising function and its checks.

``normalise`` drops what legitimately differs between two runs of the same pipeline — timestamps,
durations, session and sandbox ids, the adapter's name — and the e2b adapter's own events
(``ADAPTER_EVENTS``, the one list of them). Everything else must be equal. Steps of parallel
branches may interleave, so events are compared per step, plus the order of the run-level ones.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from osiris_remote_e2b.events import ADAPTER_EVENTS

VOLATILE = frozenset({"ts", "session", "duration_ms", "sandbox_id", "started_at", "finished_at"})
ADAPTER_FIELDS = {"adapter": "<adapter>"}
"""The adapter's name (and the distribution providing it) differ by design."""
ROW_METRICS = ("rows_read", "rows_written", "rows_out")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _clean(value: Any, session_dir: Path) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v, session_dir) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v, session_dir) for v in value]
    if isinstance(value, str):
        return value.replace(str(session_dir), "<session>").replace(session_dir.name, "<id>")
    return value


def normalise(session_dir: Path) -> list[dict[str, Any]]:
    """The session's events without adapter events and volatile fields, in file order."""
    out = []
    for event in _lines(session_dir / "events.jsonl"):
        if event["event"] in ADAPTER_EVENTS:
            continue
        event = _clean(event, session_dir)
        for key, placeholder in ADAPTER_FIELDS.items():
            if key in event:
                event[key] = placeholder
        if event["event"] == "adapter_selected":
            event["distribution"] = "<distribution>"
        out.append(event)
    return out


def per_step(events: list[dict[str, Any]]) -> tuple[list, dict[str, list]]:
    """(run-level events in order, {step_id: that step's events in order})."""
    run_level, steps = [], {}
    for event in events:
        if "step_id" in event:
            steps.setdefault(event["step_id"], []).append(event)
        else:
            run_level.append(event)
    return run_level, steps


def metrics(session_dir: Path) -> tuple[set[str], Counter]:
    """Metric names, and the row counts per (metric, step)."""
    lines = _lines(session_dir / "metrics.jsonl")
    rows: Counter = Counter()
    for line in lines:
        if line["metric"] in ROW_METRICS:
            rows[(line["metric"], line.get("step_id"))] += line["value"]
    return {line["metric"] for line in lines}, rows


def status(session_dir: Path) -> dict[str, Any]:
    data = json.loads((session_dir / "status.json").read_text(encoding="utf-8"))
    return _clean(data, session_dir)


def assert_same_run(local: Path, remote: Path, *, ordered: bool = False) -> None:
    """Same events (per step; in full order when ``ordered``), metrics, status, artifacts."""
    local_events, remote_events = normalise(local), normalise(remote)
    if ordered:
        assert remote_events == local_events
    local_run, local_steps = per_step(local_events)
    remote_run, remote_steps = per_step(remote_events)
    assert remote_run == local_run
    assert remote_steps == local_steps
    assert metrics(remote) == metrics(local)
    assert status(remote) == status(local)
    assert artifact_files(remote) == artifact_files(local)


def artifact_files(session_dir: Path) -> dict[str, bytes]:
    root = session_dir / "artifacts"
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def adapter_events(session_dir: Path) -> list[dict[str, Any]]:
    return [e for e in _lines(session_dir / "events.jsonl") if e["event"] in ADAPTER_EVENTS]


def only_session(logs: Path) -> Path:
    sessions = [p for p in logs.iterdir() if p.is_dir()]
    assert len(sessions) == 1, sessions
    return sessions[0]
