"""Sessions: one directory per run under ``logs/`` holding everything the run reported.

``logs/<session_id>/`` has events.jsonl, metrics.jsonl, osiris.log, artifacts/<step>/,
status.json and a copy of the compiled manifest and cfg. Every line goes through the session's
``Masker`` first, so no writer can forget to mask.
"""

from __future__ import annotations

from osiris.session.paths import new_session_id, resolve_logs_dir
from osiris.session.session import Session
from osiris.session.store import SessionInfo, find_session, list_sessions

__all__ = [
    "Session",
    "SessionInfo",
    "find_session",
    "list_sessions",
    "new_session_id",
    "resolve_logs_dir",
]
