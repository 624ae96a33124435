"""The ``mysql`` connection family: its schema, a doctor check and discovery.

Imports only the standard library at module level; pymysql loads when a method runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from osiris.families import ConnectionFamily, DoctorResult

from osiris_driver_mysql.connect import connect_pymysql, quote_ident

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["host", "database", "user"],
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": {
            "type": ["integer", "string"],
            "minimum": 1,
            "maximum": 65535,
            "pattern": "^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$",
            "default": 3306,
            "description": "a TCP port (1 to 65535)",
        },
        "database": {"type": "string", "minLength": 1},
        "user": {"type": "string", "minLength": 1},
        "password": {"type": "string"},
        "charset": {"type": "string", "default": "utf8mb4"},
        "connect_timeout": {"type": ["integer", "string"], "default": 10},
        "ssl": {
            "oneOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "properties": {
                        "ca": {"type": "string"},
                        "cert": {"type": "string"},
                        "key": {"type": "string"},
                        "verify_cert": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "default": {"type": "boolean"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}

# MySQL error codes -> doctor categories.
_CATEGORIES = {1045: "auth", 1698: "auth", 1044: "permission", 1142: "permission", 1049: "config"}


def classify(exc: BaseException) -> tuple[str, str]:
    """(category, sentence) for a connection failure."""
    args = getattr(exc, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else str(exc)
    if code in _CATEGORIES:
        category = _CATEGORIES[code]
    elif "timed out" in text.lower() or isinstance(exc, TimeoutError):
        category = "timeout"
    elif code in (2003, 2005, 2006, 2013):
        category = "network"
    else:
        category = "unknown"
    hints = {
        "auth": "check user and password",
        "permission": "grant the user access to the database",
        "config": "check the database name",
        "network": "check host and port, and that the server is running",
        "timeout": "the server did not answer in time; check host, port and firewalls",
        "unknown": "see the server's message",
    }
    return category, f"{text} ({hints[category]})."


class MySQLFamily(ConnectionFamily):
    """MySQL and MariaDB servers."""

    name: ClassVar[str] = "mysql"
    schema: ClassVar[Mapping[str, Any]] = SCHEMA
    secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    def doctor(self, connection: Mapping[str, Any]) -> DoctorResult:
        started = time.monotonic()
        timeout = int(connection.get("connect_timeout", 10))
        try:  # a read timeout too: a server that accepts but never answers must not hang
            conn = connect_pymysql(connection, read_timeout=timeout, write_timeout=timeout)
        except Exception as exc:
            category, message = classify(exc)
            return DoctorResult(False, category, message)  # type: ignore[arg-type]
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1, VERSION()")
                _, version = cur.fetchone()
            latency = round((time.monotonic() - started) * 1000, 1)
            return DoctorResult(
                True,
                "ok",
                f"Connected to {version} in {latency} ms.",
                latency,
                {"version": version},
            )
        except Exception as exc:
            category, message = classify(exc)
            return DoctorResult(False, category, message)  # type: ignore[arg-type]
        finally:
            conn.close()

    def discover(
        self,
        connection: Mapping[str, Any],
        *,
        tables: list[str] | None = None,
        samples: int = 5,
    ) -> dict[str, Any]:
        """Tables and views with columns, keys, row estimates and sample rows (JSON-safe)."""
        conn = connect_pymysql(connection)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                mariadb = "mariadb" in str(cur.fetchone()[0]).lower()
                cur.execute("START TRANSACTION READ ONLY")
                cur.execute(
                    "SELECT table_name, table_type, table_rows FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() ORDER BY table_name"
                )
                found = [(n, t, r) for n, t, r in cur.fetchall() if not tables or n in tables]
                cur.execute(
                    "SELECT table_name, column_name, column_type, is_nullable, column_key,"
                    " column_default, extra FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
                )
                columns: dict[str, list[dict[str, Any]]] = {}
                for table, name, ctype, nullable, key, default, extra in cur.fetchall():
                    columns.setdefault(table, []).append(
                        {
                            "name": name,
                            "type": ctype,
                            "nullable": nullable == "YES",
                            "key": {"PRI": "primary", "UNI": "unique", "MUL": "index"}.get(key),
                            "default": _column_default(default, mariadb),
                            "extra": extra or None,
                        }
                    )
                cur.execute(
                    "SELECT table_name, column_name FROM information_schema.key_column_usage"
                    " WHERE table_schema = DATABASE() AND constraint_name = 'PRIMARY'"
                    " ORDER BY table_name, ordinal_position"
                )
                primary: dict[str, list[str]] = {}
                for table, name in cur.fetchall():
                    primary.setdefault(table, []).append(name)
                result = []
                for name, ttype, rows in found:
                    entry: dict[str, Any] = {
                        "name": name,
                        "type": "view" if ttype == "VIEW" else "table",
                        "columns": columns.get(name, []),
                        "primary_key": primary.get(name, []),
                        "row_estimate": int(rows) if rows is not None else None,
                        "samples": [],
                    }
                    if samples > 0:
                        entry.update(_samples(cur, name, samples))
                    result.append(entry)
                cur.execute("COMMIT")
                cur.execute("SELECT DATABASE(), VERSION()")
                database, version = cur.fetchone()
        finally:
            conn.close()
        return {"database": database, "server_version": version, "tables": result}


def _samples(cur: Any, name: str, samples: int) -> dict[str, Any]:
    """``{"samples": rows}`` (JSON-safe), or ``{"error": ...}`` when the server refuses this table
    (a broken view, column-only privileges): one unreadable table must not hide the others."""
    import pymysql

    from osiris_driver_mysql.types import python_value

    try:
        cur.execute(f"SELECT * FROM {quote_ident(name)} LIMIT %s", (int(samples),))
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code is None or code >= 2000:  # client-side: the connection itself is gone
            raise
        return {"error": str(exc.args[1]) if len(exc.args) > 1 else str(exc)}
    heads = [d[0] for d in cur.description]
    return {
        "samples": [
            {h: python_value(v) for h, v in zip(heads, row, strict=True)} for row in cur.fetchall()
        ]
    }


def _column_default(value: str | None, mariadb: bool) -> str | None:
    """The default as MySQL shows it: MariaDB writes it as SQL (``NULL`` for none, string
    literals quoted as ``'it''s'``), which would read as a different value."""
    if not mariadb or value is None:
        return value
    if value == "NULL":
        return None
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'").replace("\\\\", "\\")
    return value
