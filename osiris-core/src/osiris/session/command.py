"""Sessions of commands that are not runs (``compile``, ``discover``): one place opens them.

They leave the same files as a run (events, status.json, a copy of what was compiled), so
``osiris logs list|show|html`` explain a compile or a discovery the way they explain a run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError
from osiris.session.session import Session


def create_session(logs_dir: Path | str | None = None, *, kind: str = "run") -> Session:
    """A new session directory under ``--logs-dir`` / ``$OSIRIS_LOGS_DIR`` / ``./logs``.

    A logs directory that is a file or cannot be written is invalid input (exit 2), in one
    sentence, for every command alike.
    """
    from osiris.session.paths import logs_dir_problem, resolve_logs_dir

    root = resolve_logs_dir(logs_dir)
    hint = "Pass --logs-dir DIR or set OSIRIS_LOGS_DIR to a directory."
    problem = logs_dir_problem(root)
    if problem:
        raise InvalidInputError(problem, hint=hint)
    try:
        return Session(root, kind=kind)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot create a session under {root}: {exc.strerror}.", hint=hint
        ) from None


def finish_command(session: Session, *, ok: bool, error: str | None = None, **extra: Any) -> None:
    """End a command session: ``<kind>_complete`` or ``<kind>_error``, status.json, close."""
    kind = session.id.split("_", 1)[0]
    duration_ms = int((time.perf_counter() - session.clock) * 1000)
    if ok:
        session.event(f"{kind}_complete", ok=True, duration_ms=duration_ms, **extra)
    else:
        session.event(f"{kind}_error", ok=False, error=error, duration_ms=duration_ms, **extra)
    session.write_status(ok=ok, steps={}, error=error, exit_code=0 if ok else 2)
    session.close()
