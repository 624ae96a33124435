"""Past runs read back from their sessions: the list, one run, and what run results say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError

from osiris_llm.operations.workspace import Workspace, masked

_SESSION_REF = re.compile(r"^(last|[a-z]+_[0-9A-Za-z_]{1,40})$")


def list_runs(ws: Workspace, limit: int = 20) -> list[dict[str, Any]]:
    """The newest run sessions (``osiris logs list``), at most ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
        raise InvalidInputError(
            f"The argument 'limit' must be an integer from 1 to 200, got {limit!r}."
        )
    runs = _runs(ws)[:limit]
    return masked([{**s.summary(), "path": ws.relative(s.path)} for s in runs])


def show_run(ws: Workspace, session: str) -> dict[str, Any]:
    """One run: status, per-step rows and durations, and its first error."""
    info = find_run(ws, session)
    status = info.status or {}
    summary = {
        "session": info.id,
        "ok": status.get("ok") if info.status else None,
        "exit_code": None,
        "pipeline": status.get("pipeline"),
        "steps": status.get("steps") or {},
        "error": status.get("error"),
        "duration_ms": status.get("duration_ms"),
        "started_at": status.get("started_at"),
        "finished_at": status.get("finished_at"),
    }
    if info.status is None:
        summary["status"] = "unfinished"
    return masked(run_summary(ws, summary, write_steps(info.path), path=info.path))


def find_run(ws: Workspace, session: str) -> Any:
    """The ``SessionInfo`` of a run by id, unique prefix or ``last`` (never a path)."""
    from osiris.session import find_session

    if not isinstance(session, str) or not _SESSION_REF.match(session):
        raise InvalidInputError(
            "The argument 'session' must be a session id such as run_20261122T041500Z_ab12cd"
            f" (a unique prefix, or 'last'), got {session!r}."
        )
    if session != "last":
        return find_session(ws.logs_dir, session)
    runs = _runs(ws)
    if not runs:
        raise InvalidInputError(f"No runs in {ws.relative(ws.logs_dir)}; run a pipeline first.")
    return runs[0]


def _runs(ws: Workspace) -> list[Any]:
    """Run sessions (not chat or MCP ones), newest first as ``osiris logs list`` orders them."""
    from osiris.session import list_sessions

    return [s for s in list_sessions(ws.logs_dir) if s.id.startswith("run_")]


def run_summary(
    ws: Workspace, data: dict[str, Any], write_steps: set[str], path: Path | None = None
) -> dict[str, Any]:
    steps = {
        step_id: {
            "status": step.get("status"),
            "rows": step.get("rows"),
            "duration_ms": step.get("duration_ms"),
            "error": step.get("error"),
        }
        for step_id, step in (data.get("steps") or {}).items()
    }
    written = [
        s["rows"] for k, s in steps.items() if k in write_steps and isinstance(s["rows"], int)
    ]
    ok = data.get("ok")
    return {
        "session": data.get("session"),
        "ok": ok,
        "exit_code": data.get("exit_code"),
        "status": data.get("status") or ("succeeded" if ok else "failed"),
        "pipeline": data.get("pipeline"),
        "steps": steps,
        "error": data.get("error"),
        "rows_written": sum(written) if written else None,
        "duration_ms": data.get("duration_ms"),
        "session_dir": ws.relative(path or Path(data.get("session_dir", ""))),
    }


def write_steps(session_dir: Path) -> set[str]:
    """Ids of the write steps, from the manifest copied into the session (none if not compiled)."""
    import yaml

    try:
        manifest = yaml.safe_load((Path(session_dir) / "manifest.yaml").read_text("utf-8"))
        return {s["id"] for s in manifest["steps"] if s.get("mode") == "write"}
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return set()
