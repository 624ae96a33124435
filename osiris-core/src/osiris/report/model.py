"""A session directory read back into one view that the HTML page and the AIOP both draw from.

Facts come from the session's own files only: status from ``status.json`` (what the run
decided), times from the events, rows from ``status.json`` and the metrics. Nothing is
recomputed from data, and a missing file (a run that crashed, a chat session) leaves its part
empty instead of failing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osiris.session.paths import SESSION_ID

ENV_EVENT_PREFIXES = ("sandbox_", "upload_", "deps_", "artifacts_")
"""Adapter events that describe where a run happened (the e2b adapter's), shown as details."""
TERMINAL_EVENTS = {"step_complete": "succeeded", "step_error": "failed", "step_skipped": "skipped"}
ARTIFACT_HASH_LIMIT = 256 * 1024 * 1024
"""Artifacts bigger than this are listed with their size only (hashing them would stall a report)."""


@dataclass(frozen=True)
class Record:
    """One line of events.jsonl or metrics.jsonl; ``n`` is its 1-based line number."""

    n: int
    data: dict[str, Any]
    prefix: str = "ev"

    @property
    def id(self) -> str:
        """Stable evidence id: the file and the line, so re-reading the session gives the same."""
        return f"{self.prefix}:{self.n}"

    @property
    def name(self) -> str:
        return str(self.data.get("event") or self.data.get("metric") or "")

    @property
    def step_id(self) -> str | None:
        value = self.data.get("step_id")
        return value if isinstance(value, str) else None


@dataclass
class StepView:
    """One step as the report shows it."""

    id: str
    component: str | None = None
    mode: str | None = None
    needs: tuple[str, ...] = ()
    connection: str | None = None
    distribution: str | None = None
    version: str | None = None
    status: str = "unknown"
    rows_in: int | None = None
    rows_out: int | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    rows_verified: int | None = None
    duration_ms: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    config: dict[str, Any] | None = None
    """The compiled ``cfg/<id>.json`` kept in the session (masked when it was copied)."""
    evidence: list[str] = field(default_factory=list)
    """Ids of this step's start and end events."""


@dataclass(frozen=True)
class Artifact:
    path: str
    """Relative to the session directory (``artifacts/<step>/file``)."""
    bytes: int
    sha256: str | None


@dataclass
class SessionView:
    """Everything a report needs about one session."""

    id: str
    kind: str
    dir: Path
    status: dict[str, Any] | None
    events: list[Record]
    metrics: list[Record]
    manifest: dict[str, Any] | None = None
    manifest_text: str | None = None
    meta: dict[str, Any] | None = None
    oml: dict[str, Any] | None = None
    oml_text: str | None = None
    steps: list[StepView] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)

    # -- outcome -----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """``ok``, ``failed`` or ``unfinished`` (no status.json: still running, or crashed)."""
        if self.status is None:
            return "unfinished"
        return "ok" if self.status.get("ok") else "failed"

    @property
    def pipeline(self) -> str | None:
        name = (self.status or {}).get("pipeline")
        if name:
            return str(name)
        header = (self.manifest or {}).get("pipeline") or {}
        return header.get("name") or (self.oml or {}).get("name")

    @property
    def error(self) -> str | None:
        return (self.status or {}).get("error")

    @property
    def exit_code(self) -> int | None:
        """0 for a success, the ``run_error`` event's code for a failure, None if unknown."""
        if self.state == "ok":
            return 0
        end = self.last_event("run_error")
        code = end.data.get("exit_code") if end else None
        return code if isinstance(code, int) else (1 if self.state == "failed" else None)

    @property
    def started_at(self) -> str | None:
        first = self.events[0].data.get("ts") if self.events else None
        return first or (self.status or {}).get("started_at")

    @property
    def finished_at(self) -> str | None:
        end = self.last_event("run_complete") or self.last_event("run_error")
        if end is not None:
            return end.data.get("ts")
        return (self.status or {}).get("finished_at")

    @property
    def duration_ms(self) -> int | None:
        end = self.last_event("run_complete") or self.last_event("run_error")
        value = end.data.get("duration_ms") if end else None
        if isinstance(value, int):
            return value
        value = (self.status or {}).get("duration_ms")
        return value if isinstance(value, int) else None

    @property
    def failed_step(self) -> StepView | None:
        """The step where the run failed: the first ``step_error`` in time, else the first failed."""
        first = self.first_event("step_error")
        if first is not None and first.step_id:
            match = self.step(first.step_id)
            if match is not None:
                return match
        return next((s for s in self.steps if s.status == "failed"), None)

    # -- context -----------------------------------------------------------------------------
    @property
    def adapter(self) -> str:
        selected = self.first_event("adapter_selected") or self.first_event("run_start")
        return str((selected.data.get("adapter") if selected else None) or "local")

    @property
    def environment(self) -> list[Record]:
        """The adapter's own events (sandbox, uploads, dependencies), in order."""
        return [e for e in self.events if e.name.startswith(ENV_EVENT_PREFIXES)]

    @property
    def fingerprints(self) -> dict[str, str]:
        found = dict((self.meta or {}).get("fingerprints") or {})
        header = ((self.manifest or {}).get("pipeline") or {}).get("fingerprints") or {}
        for key, value in header.items():
            found.setdefault(key, value)
        return {k: str(v) for k, v in sorted(found.items())}

    @property
    def manifest_fp(self) -> str | None:
        return self.fingerprints.get("manifest_fp")

    @property
    def intent(self) -> dict[str, Any] | None:
        """The request a chat turned into this pipeline: OML ``metadata.intent`` (see aiop.md)."""
        metadata = (self.oml or {}).get("metadata")
        if not isinstance(metadata, dict) or not metadata.get("intent"):
            return None
        out: dict[str, Any] = {"text": str(metadata["intent"]), "source": "oml.metadata.intent"}
        if metadata.get("chat_session"):
            out["chat_session"] = str(metadata["chat_session"])
        return out

    # -- lookups -----------------------------------------------------------------------------
    def step(self, step_id: str) -> StepView | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def first_event(self, name: str) -> Record | None:
        return next((e for e in self.events if e.name == name), None)

    def last_event(self, name: str) -> Record | None:
        return next((e for e in reversed(self.events) if e.name == name), None)

    def metric_total(self, name: str, step_id: str | None = None) -> int | float | None:
        """Sum of a metric's values (drivers may report per batch), for one step or all."""
        values = [
            m.data.get("value")
            for m in self.metrics
            if m.name == name and (step_id is None or m.step_id == step_id)
        ]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            return None
        total = sum(numbers)
        return int(total) if float(total).is_integer() else total


def load_session(path: Path, *, artifacts: bool = True) -> SessionView:
    """Read ``path`` (a session directory) into a ``SessionView``.

    ``artifacts=False`` skips hashing the artifacts (an index of many sessions needs none).
    """
    path = Path(path)
    match = SESSION_ID.match(path.name)
    view = SessionView(
        id=path.name,
        kind=match["kind"] if match else "session",
        dir=path,
        status=_json_file(path / "status.json"),
        events=read_records(path / "events.jsonl", "ev"),
        metrics=read_records(path / "metrics.jsonl", "m"),
    )
    view.manifest_text = _text(path / "manifest.yaml")
    view.manifest = _yaml(view.manifest_text)
    view.meta = _json_file(path / "meta.json")
    view.oml_text = _text(path / "oml.yaml")
    view.oml = _yaml(view.oml_text)
    view.steps = _steps(view)
    view.artifacts = _artifacts(path) if artifacts else []
    return view


def read_records(path: Path, prefix: str) -> list[Record]:
    """Every JSON object line; a torn last line (a crash mid-write) is skipped, not fatal."""
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for n, line in enumerate(handle, 1):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                out.append(Record(n, data, prefix))
    return out


def parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _steps(view: SessionView) -> list[StepView]:
    """Steps in manifest order (then any only status.json knows), with events and metrics joined."""
    steps: dict[str, StepView] = {}
    for entry in (view.manifest or {}).get("steps") or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        plugin = entry.get("plugin") or {}
        steps[str(entry["id"])] = StepView(
            id=str(entry["id"]),
            component=entry.get("component"),
            mode=entry.get("mode"),
            needs=tuple(str(n) for n in entry.get("needs") or ()),
            connection=entry.get("connection"),
            distribution=plugin.get("distribution"),
            version=plugin.get("version"),
        )
    status_steps = (view.status or {}).get("steps") or {}
    for step_id, outcome in status_steps.items():
        step = steps.setdefault(step_id, StepView(id=step_id))
        step.status = str(outcome.get("status") or "unknown")
        step.rows_out = outcome.get("rows") if isinstance(outcome.get("rows"), int) else None
        step.duration_ms = outcome.get("duration_ms")
        step.error = outcome.get("error") if step.status != "succeeded" else None
    for record in view.events:
        if record.step_id and record.name in ("step_start", *TERMINAL_EVENTS):
            steps.setdefault(record.step_id, StepView(id=record.step_id))  # no manifest left
        step = steps.get(record.step_id or "")
        if step is None:
            continue
        if record.name == "step_start":
            step.started_at = record.data.get("ts")
            step.component = step.component or record.data.get("component")
            step.mode = step.mode or record.data.get("mode")
            step.evidence.append(record.id)
        elif record.name in TERMINAL_EVENTS:
            step.finished_at = record.data.get("ts")
            step.evidence.append(record.id)
            if view.status is None:  # unfinished session: the events are all there is
                step.status = TERMINAL_EVENTS[record.name]
                step.error = record.data.get("error") or record.data.get("reason")
                if record.name == "step_complete" and isinstance(record.data.get("rows"), int):
                    step.rows_out = record.data["rows"]
            if step.duration_ms is None and isinstance(record.data.get("duration_ms"), int):
                step.duration_ms = record.data["duration_ms"]
    for step in steps.values():
        step.config = _json_file(view.dir / "cfg" / f"{step.id}.json")
        step.rows_read = _int(view.metric_total("rows_read", step.id))
        step.rows_written = _int(view.metric_total("rows_written", step.id))
        step.rows_verified = _int(view.metric_total("rows_verified", step.id))
        if step.status == "unknown" and view.status is None and step.started_at:
            step.status = "running"
    for step in steps.values():
        if step.needs:
            upstream = [steps[n].rows_out for n in step.needs if n in steps]
            known = [r for r in upstream if r is not None]
            step.rows_in = sum(known) if known and step.status != "skipped" else None
        else:
            step.rows_in = step.rows_read
    return list(steps.values())


def _artifacts(path: Path) -> list[Artifact]:
    root = path / "artifacts"
    if not root.is_dir():
        return []
    out = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        size = file.stat().st_size
        out.append(
            Artifact(
                file.relative_to(path).as_posix(),
                size,
                _sha256(file) if size <= ARTIFACT_HASH_LIMIT else None,
            )
        )
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _json_file(path: Path) -> dict[str, Any] | None:
    text = _text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _yaml(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None
