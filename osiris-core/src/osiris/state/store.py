"""``.osiris/state.sqlite``: one high-water mark per pipeline and step, as typed text.

SQLite because a mark must change atomically with its neighbours (all marks of a run commit in
one transaction) and survive a crash mid-write; reading never creates the file, so pipelines
without incremental steps leave no trace.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from osiris.errors import InvalidInputError
from osiris.state.cursor import Mark

DEFAULT_PATH = Path(".osiris") / "state.sqlite"
"""Relative to the project directory (the cwd), next to ``last_compile.json``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    pipeline   TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    type       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    session    TEXT,
    PRIMARY KEY (pipeline, step_id)
)
"""


@dataclass(frozen=True)
class StoredMark:
    pipeline: str
    step_id: str
    cursor: str
    mark: Mark
    updated_at: str
    session: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "pipeline": self.pipeline,
            "step_id": self.step_id,
            "cursor": self.cursor,
            **self.mark.as_dict(),
            "updated_at": self.updated_at,
            "session": self.session,
        }


class StateStore:
    """Marks in one SQLite file; every method opens and closes its own connection."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_PATH

    def _connect(self, *, write: bool) -> sqlite3.Connection | None:
        if not write and not self.path.is_file():
            return None
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            if write:
                conn.execute(_SCHEMA)
            return conn
        except (OSError, sqlite3.Error) as exc:
            raise InvalidInputError(f"Cannot open the state file {self.path}: {exc}.") from None

    def get(self, pipeline: str, step_id: str) -> StoredMark | None:
        found = self.list(pipeline, step_id)
        return found[0] if found else None

    def list(self, pipeline: str | None = None, step_id: str | None = None) -> list[StoredMark]:
        conn = self._connect(write=False)
        if conn is None:
            return []
        sql = "SELECT pipeline, step_id, cursor, type, value, updated_at, session FROM marks"
        where, args = [], []
        for column, value in (("pipeline", pipeline), ("step_id", step_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if where:
            sql += " WHERE " + " AND ".join(where)
        try:
            with conn:
                rows = conn.execute(sql + " ORDER BY pipeline, step_id", args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise InvalidInputError(f"Cannot read the state file {self.path}: {exc}.") from None
        finally:
            conn.close()
        return [StoredMark(p, s, c, Mark(t, v), u, sess) for p, s, c, t, v, u, sess in rows]

    def commit(self, pipeline: str, marks: list[tuple[str, str, Mark | None]], *, session: str,
               updated_at: str) -> None:  # fmt: skip
        """Store ``(step_id, cursor, mark)`` entries in one transaction (``None`` deletes)."""
        conn = self._connect(write=True)
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for step_id, cursor, mark in marks:
                if mark is None:
                    conn.execute(
                        "DELETE FROM marks WHERE pipeline = ? AND step_id = ?", (pipeline, step_id)
                    )
                    continue
                conn.execute(
                    "INSERT INTO marks VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pipeline, step_id)"
                    " DO UPDATE SET cursor = excluded.cursor, type = excluded.type,"
                    " value = excluded.value, updated_at = excluded.updated_at,"
                    " session = excluded.session",
                    (pipeline, step_id, cursor, mark.kind, mark.value, updated_at, session),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def reset(self, pipeline: str, step_id: str | None = None) -> int:
        """Delete the marks of a pipeline (or one step); returns how many were deleted."""
        if not self.path.is_file():
            return 0
        conn = self._connect(write=True)
        assert conn is not None
        try:
            sql, args = "DELETE FROM marks WHERE pipeline = ?", [pipeline]
            if step_id is not None:
                sql, args = sql + " AND step_id = ?", [pipeline, step_id]
            with conn:
                return conn.execute(sql, args).rowcount
        finally:
            conn.close()
