"""What changed since the previous run of the same pipeline (same manifest fingerprint).

"Previous" is the newest session in the same logs directory that started before this one and
ran the same compiled manifest (``meta.json`` ``manifest_fp``). Only its status.json and
meta.json are read, so the comparison is cheap and does not depend on its AIOP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osiris.report.model import SessionView
from osiris.session.paths import SESSION_ID

MAX_CANDIDATES = 500
"""Sessions examined, newest first: a huge logs directory must not make every run slow."""


def previous_run(view: SessionView) -> Path | None:
    """The session directory of the previous run with the same manifest fingerprint.

    Ordered by ``status.json`` ``started_at`` (milliseconds), since two runs in one second
    share the stamp of their session ids.
    """
    fp = view.manifest_fp
    match = SESSION_ID.match(view.id)
    if not fp or not match:
        return None
    own = ((view.status or {}).get("started_at") or view.started_at or "", view.id)
    older = sorted(
        (
            p
            for p in view.dir.parent.iterdir()
            if p.is_dir()
            and p.name != view.id
            and (m := SESSION_ID.match(p.name))
            and m["stamp"] <= match["stamp"]
        ),
        key=lambda p: p.name[len(p.name.split("_")[0]) :],
        reverse=True,
    )
    best: tuple[tuple[str, str], Path] | None = None
    for candidate in older[:MAX_CANDIDATES]:
        meta = _json(candidate / "meta.json")
        if not meta or (meta.get("fingerprints") or {}).get("manifest_fp") != fp:
            continue
        status = _json(candidate / "status.json")
        if status is None:
            continue
        key = (str(status.get("started_at") or ""), candidate.name)
        if key < own and (best is None or key > best[0]):
            best = (key, candidate)
    return best[1] if best else None


def compute_delta(view: SessionView) -> dict[str, Any]:
    """``{"first_run": True}`` or the previous session with status, rows and duration changes."""
    previous = previous_run(view)
    if previous is None:
        return {"first_run": True, "previous_session": None, "manifest_fp": view.manifest_fp}
    status = _json(previous / "status.json") or {}
    before_steps = status.get("steps") or {}
    rows = []
    for step in view.steps:
        old = before_steps.get(step.id) or {}
        old_rows = old.get("rows") if isinstance(old.get("rows"), int) else None
        old_status = old.get("status")
        if old_rows != step.rows_out or old_status != step.status:
            rows.append(
                {
                    "step_id": step.id,
                    "status_before": old_status,
                    "status_now": step.status,
                    "rows_before": old_rows,
                    "rows_now": step.rows_out,
                    "rows_change": (
                        step.rows_out - old_rows
                        if step.rows_out is not None and old_rows is not None
                        else None
                    ),
                }
            )
    before_ms = status.get("duration_ms") if isinstance(status.get("duration_ms"), int) else None
    now_ms = view.duration_ms
    return {
        "first_run": False,
        "previous_session": previous.name,
        "manifest_fp": view.manifest_fp,
        "status_before": "ok" if status.get("ok") else "failed",
        "status_now": view.state,
        "duration_ms_before": before_ms,
        "duration_ms_now": now_ms,
        "duration_change_ms": (
            now_ms - before_ms if now_ms is not None and before_ms is not None else None
        ),
        "steps_changed": rows,
        "steps_unchanged": len(view.steps) - len(rows),
    }


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
