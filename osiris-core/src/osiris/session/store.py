"""Reading past sessions back: listing, finding one by id, and garbage collection."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError
from osiris.session.paths import SESSION_ID, session_time


@dataclass(frozen=True)
class SessionInfo:
    """A session directory and its status (``None`` while running or after a crash)."""

    id: str
    path: Path
    status: dict[str, Any] | None

    @property
    def started(self) -> datetime:
        return session_time(self.id) or datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    @property
    def state(self) -> str:
        if self.status is None:
            return "unfinished"
        return "ok" if self.status.get("ok") else "failed"

    def summary(self) -> dict[str, Any]:
        status = self.status or {}
        return {
            "session": self.id,
            "path": str(self.path),
            "pipeline": status.get("pipeline"),
            "status": self.state,
            "started_at": status.get("started_at") or self.started.isoformat(),
            "duration_ms": status.get("duration_ms"),
            "steps": len(status.get("steps") or {}),
            "error": status.get("error"),
        }


def read_session(path: Path) -> SessionInfo:
    status_path = path / "status.json"
    status = None
    if status_path.is_file():
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            status = None
    return SessionInfo(path.name, path, status)


def list_sessions(logs_dir: Path) -> list[SessionInfo]:
    """Sessions under ``logs_dir``, newest first; only directories named like session ids."""
    from osiris.session.paths import logs_dir_problem

    if problem := logs_dir_problem(logs_dir):  # a file given as --logs-dir is not "no sessions"
        raise InvalidInputError(problem, hint="Pass --logs-dir DIR or set OSIRIS_LOGS_DIR.")
    if not logs_dir.is_dir():
        return []
    found = [read_session(p) for p in logs_dir.iterdir() if p.is_dir() and SESSION_ID.match(p.name)]
    return sorted(found, key=_newest_first_key, reverse=True)


def _newest_first_key(info: SessionInfo) -> tuple[datetime, str, str]:
    """Ids carry the start to the second; status.json's milliseconds order runs within one."""
    return (info.started, str((info.status or {}).get("started_at") or ""), info.id)


def find_session(logs_dir: Path, ref: str) -> SessionInfo:
    """A session by id, unique id prefix, ``last``, or path to its directory."""
    as_path = Path(ref)
    if as_path.is_dir() and (as_path / "events.jsonl").exists():
        return read_session(as_path)
    sessions = list_sessions(logs_dir)
    if ref == "last":
        if not sessions:
            raise InvalidInputError(f"No sessions in {logs_dir}; run a pipeline first.")
        return sessions[0]
    matches = [s for s in sessions if s.id == ref] or [s for s in sessions if s.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidInputError(
            f"No session '{ref}' in {logs_dir}.", hint="`osiris logs list` shows the sessions."
        )
    raise InvalidInputError(
        f"Session prefix '{ref}' matches {len(matches)} sessions; give more characters."
    )


def select_for_gc(
    sessions: list[SessionInfo],
    *,
    keep: int | None,
    older_than_days: float | None,
    now: datetime | None = None,
) -> list[SessionInfo]:
    """The sessions ``logs gc`` removes: all but the newest ``keep``, or those older than N days."""
    if keep is not None:
        return sessions[keep:]
    assert older_than_days is not None
    if math.isnan(older_than_days):
        raise InvalidInputError("--older-than must be a number of days, not nan.")
    try:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    except OverflowError:  # before year 1 (or infinite): no session is that old
        return []
    return [s for s in sessions if s.started < cutoff]


def remove_session(info: SessionInfo) -> None:
    shutil.rmtree(info.path)
