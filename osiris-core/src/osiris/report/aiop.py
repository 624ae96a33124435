"""The AI Operation Package: a compact, faithful account of one session for an LLM to debug from.

Four layers (docs/reference/aiop.md): **evidence** (timeline of events with stable ids,
metrics, errors, artifacts with sha256), **semantic** (DAG, components and their
distributions, the OML), **narrative** (sentences citing evidence ids) and **metadata**
(versions, settings with their sources, size controls, truncation, a primer for the reader).

``build_aiop`` is a pure function of the session's files and the settings passed in: the same
session gives the same document. ``fit_to_budget`` cuts it to ``max_core_bytes``
deterministically and says what it cut; the full streams go to the annex (``export``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from osiris import __version__
from osiris.report.model import Record, SessionView
from osiris.report.narrative import error_eid, sentences, step_eid

AIOP_VERSION = "1.0"
KEY_EVENT_PREFIXES = ("run_", "adapter_", "compile_", "step_", "connection_resolve_")
PRIMER = (
    "This is an Osiris AI Operation Package (AIOP): the account of one session (usually a"
    " pipeline run) taken from its logs. Read narrative first; every sentence cites evidence"
    " ids. 'ev:N' is line N of the session's events.jsonl (evidence.timeline, or"
    " annex/events.ndjson when the timeline was truncated), 'm:N' line N of metrics.jsonl"
    " (annex/metrics.ndjson), 'step:ID' a row of evidence.steps, 'error:ID' a row of"
    " evidence.errors, 'metric:NAME[:STEP]' a row of evidence.metrics. Status comes from"
    " status.json, times from the events, rows from status.json and the metrics. Secrets"
    " appear as ***."
)
GLOSSARY = {
    "OML": "The pipeline file (YAML) a person or the chat wrote: steps, components, config.",
    "manifest": "The compiled, fingerprinted pipeline that actually ran (steps in order).",
    "manifest_fp": "sha256 of the manifest: two runs with the same value ran the same pipeline.",
    "step": "One component invocation: extract (read), transform or write.",
    "succeeded/failed/skipped": (
        "Step outcomes; skipped means an upstream step failed so this one could not run."
    ),
    "rows_out": "Rows a step handed to its consumers (for writers: the rows it wrote).",
    "rows_read": "Rows an extractor read from its source.",
    "rows_written": "Rows a writer committed to its target.",
    "rows_verified": "Rows a writer re-counted in the target after the load (when reported).",
    "adapter": "Where the run executed: local (this process) or e2b (a cloud sandbox).",
    "session": "The directory logs/<session_id>/ holding the events, metrics and status.",
}


def build_aiop(
    view: SessionView,
    *,
    delta: dict[str, Any] | None,
    settings: dict[str, Any] | None,
    size: dict[str, Any],
) -> dict[str, Any]:
    """The whole AIOP of ``view``, before any truncation."""
    story = sentences(view, delta)
    return {
        "aiop_version": AIOP_VERSION,
        "metadata": {
            "generator": {"name": "osiris-core", "version": __version__},
            "session": {
                "id": view.id,
                "kind": view.kind,
                "files": sorted(
                    name
                    for name in (
                        "events.jsonl",
                        "metrics.jsonl",
                        "status.json",
                        "manifest.yaml",
                        "meta.json",
                        "oml.yaml",
                    )
                    if (view.dir / name).is_file()
                ),
                "events": len(view.events),
                "metrics": len(view.metrics),
            },
            "settings": settings or {},
            "size": size,
            "truncation": {"applied": False, "sections": []},
            "annex": [],
            "primer": PRIMER,
            "glossary": GLOSSARY,
        },
        "narrative": {
            "summary": " ".join(s["text"] for s in story),
            "sentences": story,
            "intent": view.intent,
        },
        "evidence": evidence(view, delta),
        "semantic": semantic(view),
    }


def evidence(view: SessionView, delta: dict[str, Any] | None) -> dict[str, Any]:
    start = view.first_event("run_start")
    end = view.last_event("run_complete") or view.last_event("run_error")
    selected = view.first_event("adapter_selected")
    return {
        "run": {
            "id": "run",
            "session": view.id,
            "pipeline": view.pipeline,
            "status": view.state,
            "ok": (view.status or {}).get("ok") if view.status is not None else None,
            "exit_code": view.exit_code,
            "error": view.error,
            "failed_step": view.failed_step.id if view.failed_step else None,
            "started_at": view.started_at,
            "finished_at": view.finished_at,
            "duration_ms": view.duration_ms,
            "cites": [r.id for r in (start, end) if r is not None],
        },
        "environment": {
            "id": "environment",
            "adapter": view.adapter,
            "distribution": selected.data.get("distribution") if selected else None,
            "max_workers": selected.data.get("max_workers") if selected else None,
            "details": [
                {"id": r.id, "event": r.name, **_fields(r, drop=("ts", "session", "event"))}
                for r in view.environment
            ],
        },
        "steps": [
            {
                "id": step_eid(s.id),
                "step_id": s.id,
                "component": s.component,
                "mode": s.mode,
                "status": s.status,
                "rows_in": s.rows_in,
                "rows_out": s.rows_out,
                "rows_read": s.rows_read,
                "rows_written": s.rows_written,
                "rows_verified": s.rows_verified,
                "duration_ms": s.duration_ms,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "error": s.error,
                "cites": list(s.evidence),
            }
            for s in view.steps
        ],
        "totals": totals(view),
        "errors": errors(view),
        "metrics": metric_facts(view),
        "artifacts": [
            {"id": f"artifact:{a.path}", "path": a.path, "bytes": a.bytes, "sha256": a.sha256}
            for a in view.artifacts
        ],
        "intent": {"id": "intent", **view.intent} if view.intent else None,
        "delta": {"id": "delta", **delta} if delta is not None else None,
        "timeline": [timeline_item(r) for r in view.events],
    }


def totals(view: SessionView) -> dict[str, Any]:
    """Counts the narrative states; every number is a sum over ``evidence.steps``/metrics."""
    counts = {k: sum(1 for s in view.steps if s.status == k) for k in _STATUSES}
    outs = [s.rows_out for s in view.steps if s.rows_out is not None]
    return {
        "id": "totals",
        "steps": len(view.steps),
        **counts,
        "rows_read": view.metric_total("rows_read"),
        "rows_written": view.metric_total("rows_written"),
        "rows_verified": view.metric_total("rows_verified"),
        "rows_out": sum(outs) if outs else None,
    }


_STATUSES = ("succeeded", "failed", "skipped")


def errors(view: SessionView) -> list[dict[str, Any]]:
    out = []
    for record in view.events:
        if record.name == "step_error":
            out.append(
                {
                    "id": error_eid(record.step_id),
                    "step_id": record.step_id,
                    "message": record.data.get("error"),
                    "cites": [record.id],
                }
            )
    reported = {entry["step_id"] for entry in out}
    for step in view.steps:  # a worker that died mid-step leaves the error in status.json only
        if step.status == "failed" and step.error and step.id not in reported:
            out.append(
                {
                    "id": error_eid(step.id),
                    "step_id": step.id,
                    "message": step.error,
                    "cites": [step_eid(step.id)],
                }
            )
    if view.state == "failed" and view.error:
        end = view.last_event("run_error")
        out.append(
            {
                "id": error_eid(None),
                "step_id": view.failed_step.id if view.failed_step else None,
                "message": view.error,
                "cites": [end.id] if end else [],
            }
        )
    return out


def metric_facts(view: SessionView) -> list[dict[str, Any]]:
    """Each metric summed per step (drivers report per batch), in first-seen order."""
    groups: dict[tuple[str, str | None], list[Record]] = {}
    for record in view.metrics:
        groups.setdefault((record.name, record.step_id), []).append(record)
    out = []
    for (name, step_id), records in groups.items():
        values = [r.data.get("value") for r in records]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        total = sum(numbers) if numbers else None
        if isinstance(total, float) and total.is_integer():
            total = int(total)
        out.append(
            {
                "id": f"metric:{name}" + (f":{step_id}" if step_id else ""),
                "metric": name,
                "step_id": step_id,
                "value": total,
                "unit": records[0].data.get("unit"),
                "count": len(records),
                "cites": [records[0].id] if len(records) == 1 else [records[0].id, records[-1].id],
            }
        )
    return out


def timeline_item(record: Record) -> dict[str, Any]:
    return {"id": record.id, **_fields(record, drop=("session",))}


def semantic(view: SessionView) -> dict[str, Any]:
    header = (view.manifest or {}).get("pipeline") or {}
    components: dict[str, dict[str, Any]] = {}
    for step in view.steps:
        if not step.component:
            continue
        entry = components.setdefault(
            step.component,
            {
                "name": step.component,
                "distribution": step.distribution,
                "distribution_version": step.version,
                "steps": [],
            },
        )
        entry["steps"].append(step.id)
    return {
        "pipeline": {
            "name": view.pipeline,
            "description": header.get("description") or (view.oml or {}).get("description"),
            "oml_version": header.get("oml_version"),
            "profile": header.get("profile"),
            "params": (view.meta or {}).get("params"),
            "fingerprints": view.fingerprints,
        },
        "dag": {
            "nodes": [
                {
                    "id": s.id,
                    "component": s.component,
                    "mode": s.mode,
                    "connection": s.connection,
                    "config": s.config,
                }
                for s in view.steps
            ],
            "edges": [{"from": n, "to": s.id} for s in view.steps for n in s.needs],
        },
        "components": [components[name] for name in sorted(components)],
        "oml": view.oml_text,
    }


def cited_ids(doc: dict[str, Any]) -> set[str]:
    """The evidence ids the narrative, the run and the errors cite: what a cut must keep.

    A step row's start and end events are not pinned (the row carries their times), so a run of
    many steps can still be cut to size; those events stay in the annex.
    """
    found: set[str] = set()
    for sentence in doc["narrative"]["sentences"]:
        found.update(sentence["cites"])
    ev = doc["evidence"]
    for row in [ev["run"], *ev["errors"]]:
        found.update(row.get("cites") or [])
    return found


def is_key_event(item: dict[str, Any]) -> bool:
    """Run, adapter, compile and step events: the skeleton of a run, kept before driver events."""
    name = str(item.get("event") or "")
    return name.startswith(KEY_EVENT_PREFIXES)


def dumps(doc: dict[str, Any]) -> str:
    """The file form: the layers' structure indented, each row (a list item) on one line.

    Readable by a person and a model alike, and about half the bytes of indenting everything,
    so the size limit keeps more of the run. Keys in build order, UTF-8 kept, trailing newline.
    """
    return _layout(doc, 0) + "\n"


def _layout(value: Any, level: int) -> str:
    pad = "  " * level
    if isinstance(value, dict) and value and level < 3:
        items = [f"{pad}  {compact(k)}: {_layout(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and level < 4:
        return "[\n" + ",\n".join(f"{pad}  {compact(v)}" for v in value) + f"\n{pad}]"
    return compact(value)


def layout_list_bytes(item_bytes: list[int], level: int) -> int:
    """The UTF-8 size ``_layout`` gives a list at ``level`` whose rows have ``item_bytes``."""
    if not item_bytes:
        return len("[]")
    pad = 2 * level
    return 2 + sum(pad + 2 + b for b in item_bytes) + 2 * (len(item_bytes) - 1) + 1 + pad + 1


def compact(value: Any) -> str:
    """One row: JSON on one line."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=_default)


def _fields(record: Record, *, drop: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in record.data.items() if k not in drop}


def _default(value: Any) -> Any:
    """YAML-parsed OML dates (``default: 2024-01-01``) become ISO text."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)
