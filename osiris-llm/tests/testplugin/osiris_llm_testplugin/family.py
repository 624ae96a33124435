"""A connection family over a JSON file ``{table: [row, ...]}`` guarded by a secret token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osiris.families import ConnectionFamily, DoctorResult

EXPECTED_TOKEN_FILE = "token.txt"
"""Next to the data file: the token the 'server' accepts (so doctor can fail on auth)."""


def read_tables(connection: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return json.loads(Path(connection["path"]).read_text(encoding="utf-8"))


class MemtestFamily(ConnectionFamily):
    name = "memtest"
    schema = {
        "type": "object",
        "required": ["path", "token"],
        "properties": {"path": {"type": "string"}, "token": {"type": "string"}},
        "additionalProperties": False,
    }
    secret_fields = ("token",)

    def doctor(self, connection):
        expected = Path(connection["path"]).parent / EXPECTED_TOKEN_FILE
        if not Path(connection["path"]).is_file():
            return DoctorResult(False, "network", f"No data file at {connection['path']}.")
        if expected.is_file() and expected.read_text().strip() != connection["token"]:
            return DoctorResult(False, "auth", f"Token {connection['token']} was refused.")
        return DoctorResult(True, "ok", "Data file readable.", latency_ms=1.0)

    def discover(self, connection, *, tables=None, samples=5):
        found = []
        for name, rows in sorted(read_tables(connection).items()):
            if tables and name not in tables:
                continue
            columns = list(rows[0]) if rows else []
            found.append(
                {
                    "name": name,
                    "kind": "table",
                    "row_estimate": len(rows),
                    "columns": [{"name": c, "type": "text", "nullable": True} for c in columns],
                    "primary_key": columns[:1],
                    "samples": rows[:samples],
                }
            )
        return {"tables": found}
