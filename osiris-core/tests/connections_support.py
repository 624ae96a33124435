"""An in-test connection family and registry for the connections, discover and masking tests.

Loaded by path from the test modules (``load_support()``), so no shared conftest is needed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

from osiris import hookimpl
from osiris.families import ConnectionFamily, DoctorResult
from osiris.plugins import get_plugin_manager
from osiris.registry import build_registry

SECRET = "p@ss:w/rd%"
"""A password with the characters that break naive DSN building and masking."""
TOKEN = "tok-9f8e7d6c5b4a"


class MemFamily(ConnectionFamily):
    """A family whose doctor/discover behaviour is chosen by the ``host`` value.

    Its messages deliberately echo the password and a DSN, so tests prove the CLI masks them.
    """

    name = "memdb"
    schema = {
        "type": "object",
        "required": ["host", "user"],
        "additionalProperties": False,
        "properties": {
            "host": {"type": "string"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "user": {"type": "string"},
            "password": {"type": "string", "minLength": 4},
            "database": {"type": "string"},
            "dsn": {"type": "string"},
            "ssl": {"type": "object"},
            "tls": {"type": "boolean"},
        },
    }
    secret_fields = ("password", "dsn")

    def __init__(self) -> None:
        self.discover_calls: list[dict] = []
        self.release = threading.Event()

    def doctor(self, connection):
        host, password = connection["host"], connection.get("password", "")
        if host == "ok":
            return DoctorResult(True, "ok", "Connected.", 1.5, {"server": "memdb 1.0"})
        if host == "badauth":
            return DoctorResult(
                False,
                "auth",
                f"Access denied for '{connection['user']}' with password '{password}'"
                f" (dsn memdb://{connection['user']}:{password}@{host}/db,"
                f" encoded {quote(password, safe='')})",
                2.0,
                {"attempted_password": password},
            )
        if host == "hang":
            self.release.wait(20)
            return DoctorResult(True, "ok", "late")
        raise RuntimeError(f"driver crashed while using {password}")

    def discover(self, connection, *, tables=None, samples=5):
        self.discover_calls.append({"tables": tables, "samples": samples})
        password = connection.get("password", "")
        all_tables = [
            {
                "name": "movies",
                "kind": "table",
                "row_estimate": 1234,
                "primary_key": ["id"],
                "columns": [
                    {"name": "id", "type": "int", "nullable": False, "key": "PRI"},
                    {"name": "title", "type": "varchar(200)", "nullable": True, "key": ""},
                    {"name": "note", "type": "text", "nullable": True, "key": ""},
                ],
                "samples": [
                    {"id": i, "title": f"Movie {i} ✨", "note": f"seen by {password}"}
                    for i in range(1, samples + 1)
                ],
            },
            {
                "name": "directors",
                "kind": "view",
                "row_estimate": 7,
                "primary_key": [],
                "columns": [{"name": "name", "type": "varchar(50)", "nullable": False}],
                "samples": [["Ada"], ["Lin"]][:samples],
            },
        ]
        chosen = [t for t in all_tables if tables is None or t["name"] in tables]
        return {"tables": chosen}


class SlowFamily(MemFamily):
    """Same behaviour under another name, to test per-family filters."""

    name = "slowdb"


def make_registry(*families: ConnectionFamily, distribution="memdb-plugin", version="1.2.3"):
    """A registry with core's plugins plus an in-test plugin registering ``families``."""
    pm = get_plugin_manager(load_entry_points=False)

    class Plugin:
        @hookimpl
        def register_connection_families(self):
            return list(families)

    pm.register_plugin(Plugin(), "memdb", distribution, version)
    return build_registry(pm)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
