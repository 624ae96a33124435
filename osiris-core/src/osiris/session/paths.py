"""Where sessions live and how they are named."""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

SESSION_ID = re.compile(r"^(?P<kind>[a-z]+)_(?P<stamp>\d{8}T\d{6}Z)_(?P<rand>[0-9a-f]{6})$")
"""``run_20261122T041500Z_ab12cd``: sortable by time, unique, and never mistaken for a secret."""


def new_session_id(kind: str = "run", now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}_{stamp}_{secrets.token_hex(3)}"


def session_time(session_id: str) -> datetime | None:
    """The start time encoded in a session id, or ``None`` for a foreign directory name."""
    match = SESSION_ID.match(session_id)
    if not match:
        return None
    return datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def resolve_logs_dir(option: str | os.PathLike | None = None) -> Path:
    """``--logs-dir`` wins, then ``OSIRIS_LOGS_DIR``, then ``./logs``."""
    value = option or os.environ.get("OSIRIS_LOGS_DIR") or "logs"
    return Path(value)


def logs_dir_problem(root: Path) -> str | None:
    """Why sessions cannot be created under ``root``: it (or its nearest existing parent) is a file.

    Checked up front so ``--logs-dir some.txt`` is one sentence, not a ``NotADirectoryError``.
    """
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    if existing is None or existing.is_dir():
        return None
    which = "" if existing == root else f" ({existing} is a file)"
    return f"The logs directory {root} is not a directory{which}."


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
