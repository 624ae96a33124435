"""Chat persistence: one SQLite file under ``.osiris/`` holds every chat of the project.

Each message, tool call, state change and proposal is committed as it happens, so a chat that
was killed resumes in its last state. Everything written is masked first (the session's
masker): the file can be shared like the logs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError
from osiris.llm import Message
from osiris.session.paths import utc_now_iso

DB_NAME = "chat.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
  id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, state TEXT NOT NULL,
  provider TEXT, model TEXT, title TEXT, regenerations INTEGER NOT NULL DEFAULT 0,
  pipeline_path TEXT, approved_pipeline TEXT, approved_at TEXT,
  run_session TEXT, run_ok INTEGER, rows_written INTEGER, context TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS messages (
  chat_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
  tool_calls TEXT NOT NULL DEFAULT '[]', tool_call_id TEXT, is_error INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, PRIMARY KEY (chat_id, seq)
);
CREATE TABLE IF NOT EXISTS tool_calls (
  chat_id TEXT NOT NULL, call_id TEXT NOT NULL, name TEXT NOT NULL, arguments TEXT NOT NULL,
  result TEXT NOT NULL, ok INTEGER NOT NULL, duration_ms INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS states (
  chat_id TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_calls (
  chat_id TEXT NOT NULL, model TEXT NOT NULL, tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL, latency_ms INTEGER NOT NULL, stop_reason TEXT, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
  chat_id TEXT NOT NULL, seq INTEGER NOT NULL, oml TEXT NOT NULL, summary TEXT NOT NULL,
  valid INTEGER NOT NULL, errors TEXT NOT NULL, path TEXT, via TEXT NOT NULL, created_at TEXT NOT NULL
);
"""


@dataclass
class ChatRecord:
    """One chat's row; ``context`` holds what the mode needs (sql, connection, prompts dir)."""

    id: str
    state: str
    created_at: str
    updated_at: str
    provider: str | None = None
    model: str | None = None
    title: str | None = None
    regenerations: int = 0
    pipeline_path: str | None = None
    approved_pipeline: str | None = None
    approved_at: str | None = None
    run_session: str | None = None
    run_ok: bool | None = None
    rows_written: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


class ChatStore:
    """The project's ``.osiris/chat.sqlite``; ``mask`` is applied to every text written."""

    def __init__(self, project_dir: Path, mask: Callable[[Any], Any] = lambda v: v) -> None:
        self.path = Path(project_dir) / ".osiris" / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.mask = mask
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _text(self, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return self.mask(text)

    # -- chats -----------------------------------------------------------------------------------
    def create(self, chat_id: str, state: str, **fields: Any) -> ChatRecord:
        now = utc_now_iso()
        context = self._text(fields.pop("context", {}))
        with self._tx() as db:
            db.execute(
                "INSERT INTO chats (id, created_at, updated_at, state, context) VALUES (?,?,?,?,?)",
                (chat_id, now, now, state, context),
            )
        if fields:
            self.update(chat_id, **fields)
        return self.get(chat_id)

    def update(self, chat_id: str, **fields: Any) -> None:
        if "context" in fields:
            fields["context"] = self._text(fields["context"])
        for key in ("title", "approved_pipeline", "pipeline_path"):
            if isinstance(fields.get(key), str):
                fields[key] = self.mask(fields[key])
        fields["updated_at"] = utc_now_iso()
        columns = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE chats SET {columns} WHERE id = ?", (*fields.values(), chat_id))

    def get(self, chat_id: str) -> ChatRecord:
        row = self._db.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if row is None:
            known = [
                r["id"] for r in self._db.execute("SELECT id FROM chats ORDER BY id DESC LIMIT 5")
            ]
            raise InvalidInputError(
                f"No chat session '{chat_id}' in {self.path}.",
                hint=(f"Recent: {', '.join(known)}." if known else "Start one with osiris chat."),
            )
        data = dict(row)
        data["context"] = json.loads(data["context"] or "{}")
        data["run_ok"] = None if data["run_ok"] is None else bool(data["run_ok"])
        return ChatRecord(**data)

    def latest(self) -> ChatRecord | None:
        row = self._db.execute("SELECT id FROM chats ORDER BY updated_at DESC, id DESC").fetchone()
        return self.get(row["id"]) if row else None

    def list(self) -> list[ChatRecord]:
        rows = self._db.execute("SELECT id FROM chats ORDER BY created_at DESC, id DESC")
        return [self.get(r["id"]) for r in rows.fetchall()]

    def remove(self, chat_id: str) -> None:
        """Forget a chat and its compiled proposal (its logs/ session stays)."""
        import shutil

        self.get(chat_id)
        shutil.rmtree(self.path.parent / "chat" / chat_id, ignore_errors=True)
        with self._tx() as db:
            for table in ("messages", "tool_calls", "states", "proposals", "llm_calls"):
                db.execute(f"DELETE FROM {table} WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    # -- conversation ----------------------------------------------------------------------------
    def add_message(self, chat_id: str, message: Message) -> None:
        data = message.to_json()
        with self._tx() as db:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE chat_id = ?", (chat_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?)",
                (
                    chat_id,
                    seq,
                    data["role"],
                    self.mask(data["content"]),
                    self._text(data["tool_calls"]),
                    data["tool_call_id"],
                    int(data["is_error"]),
                    utc_now_iso(),
                ),
            )

    def messages(self, chat_id: str) -> list[Message]:
        rows = self._db.execute(
            "SELECT * FROM messages WHERE chat_id = ? ORDER BY seq", (chat_id,)
        ).fetchall()
        return [
            Message.from_json({**dict(r), "tool_calls": json.loads(r["tool_calls"])}) for r in rows
        ]

    def add_tool_call(
        self,
        chat_id: str,
        call_id: str,
        name: str,
        arguments: Any,
        result: Any,
        *,
        ok: bool,
        duration_ms: int,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO tool_calls VALUES (?,?,?,?,?,?,?,?)",
                (
                    chat_id,
                    call_id,
                    name,
                    self._text(arguments),
                    self._text(result),
                    int(ok),
                    duration_ms,
                    utc_now_iso(),
                ),
            )

    def tool_calls(self, chat_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM tool_calls WHERE chat_id = ? ORDER BY rowid", (chat_id,)
        ).fetchall()
        return [
            {**dict(r), "arguments": json.loads(r["arguments"]), "ok": bool(r["ok"])} for r in rows
        ]

    def add_state(self, chat_id: str, from_state: str, to_state: str) -> None:
        now = utc_now_iso()
        with self._tx() as db:
            db.execute("INSERT INTO states VALUES (?,?,?,?)", (chat_id, from_state, to_state, now))
            db.execute(
                "UPDATE chats SET state = ?, updated_at = ? WHERE id = ?", (to_state, now, chat_id)
            )

    def states(self, chat_id: str) -> list[tuple[str, str]]:
        rows = self._db.execute(
            "SELECT from_state, to_state FROM states WHERE chat_id = ? ORDER BY rowid", (chat_id,)
        )
        return [(r[0], r[1]) for r in rows.fetchall()]

    def add_llm_call(self, chat_id: str, record: dict[str, Any]) -> None:
        """One model answer: which model, tokens in and out, latency (from ``llm_response``)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO llm_calls VALUES (?,?,?,?,?,?,?)",
                (
                    chat_id,
                    record.get("model") or "",
                    int(record.get("tokens_in") or 0),
                    int(record.get("tokens_out") or 0),
                    int(record.get("latency_ms") or 0),
                    record.get("stop_reason"),
                    record.get("ts") or utc_now_iso(),
                ),
            )

    def usage(self, chat_id: str) -> dict[str, int]:
        row = self._db.execute(
            "SELECT count(*), COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0)"
            " FROM llm_calls WHERE chat_id = ?",
            (chat_id,),
        ).fetchone()
        return {"calls": row[0], "tokens_in": row[1], "tokens_out": row[2]}

    def add_proposal(
        self,
        chat_id: str,
        oml: str,
        summary: str,
        *,
        valid: bool,
        errors: list[Any],
        path: str | None,
        via: str,
    ) -> int:
        with self._tx() as db:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM proposals WHERE chat_id = ?", (chat_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO proposals VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    chat_id,
                    seq,
                    self.mask(oml),
                    self.mask(summary),
                    int(valid),
                    self._text(errors),
                    path,
                    via,
                    utc_now_iso(),
                ),
            )
        return seq

    def proposals(self, chat_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM proposals WHERE chat_id = ? ORDER BY seq", (chat_id,)
        ).fetchall()
        return [
            {**dict(r), "valid": bool(r["valid"]), "errors": json.loads(r["errors"])} for r in rows
        ]
