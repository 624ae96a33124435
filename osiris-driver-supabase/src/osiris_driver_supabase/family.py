"""The `supabase` connection family: what an entry holds, how to check it, what it contains."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from osiris.families import ConnectionFamily, DoctorResult

from osiris_driver_supabase.connection import (
    DSN_FIELDS,
    KEY_FIELDS,
    Settings,
    check_dsn,
    connect,
    settings_from,
)

_STRING = {"type": "string", "minLength": 1}
_DSN_SECRETS = frozenset({"password", "sslpassword", "passfile"})
"""Connection-string keywords that hold or point at credentials."""


class SupabaseFamily(ConnectionFamily):
    name = "supabase"
    secret_fields: ClassVar[tuple[str, ...]] = (*KEY_FIELDS, *DSN_FIELDS)
    schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {**_STRING, "description": "Project URL, https://<ref>.supabase.co"},
            "project_id": {
                **_STRING,
                "pattern": "^[a-z0-9-]+$",
                "description": "Project ref (instead of url)",
            },
            "key": {**_STRING, "description": "API key (service role or anon, JWT or sb_...)"},
            "service_role_key": _STRING,
            "anon_key": _STRING,
            "db_url": {
                **_STRING,
                "description": "postgresql://... (direct, session or transaction pooler)",
            },
            "pg_dsn": _STRING,
            "schema": {**_STRING, "default": "public"},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
            "default": {"type": "boolean"},
        },
        "description": "url (or project_id) with a key, or db_url (or pg_dsn)",
        "anyOf": [
            {"required": ["url"]},
            {"required": ["project_id"]},
            {"required": ["db_url"]},
            {"required": ["pg_dsn"]},
        ],
        "additionalProperties": False,
    }

    def doctor(self, connection: Mapping[str, Any]) -> DoctorResult:
        """Check the REST endpoint (when url+key are set) and the database (when a DSN is set)."""
        try:
            settings = settings_from(connection)
            if settings.dsn:
                check_dsn(settings.dsn)
        except Exception as exc:
            return DoctorResult(False, "config", str(exc))
        checks: dict[str, DoctorResult] = {}
        if settings.rest_url and settings.key:
            checks["rest"] = _check_rest(settings)
        if settings.dsn:
            checks["database"] = _check_db(settings)
        failed = [c for c in checks.values() if not c.ok]
        first = failed[0] if failed else next(iter(checks.values()))
        latency = sum(c.latency_ms or 0 for c in checks.values())
        message = "; ".join(f"{name}: {c.message}" for name, c in checks.items())
        details = {
            name: {"ok": c.ok, "category": c.category, **c.details} for name, c in checks.items()
        }
        return DoctorResult(not failed, first.category, message, round(latency, 1), details)

    def discovery_identity(self, connection: Mapping[str, Any]) -> Mapping[str, Any]:
        """The DSN's target (host, port, database, user...) without its password: ``db_url`` is
        secret as a whole, yet another database must not be served this one's cached discovery."""
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        dsn = next((connection[f] for f in DSN_FIELDS if connection.get(f)), None)
        if not dsn:
            return {}
        try:
            parts = conninfo_to_dict(str(dsn))
        except ProgrammingError:
            return {}  # not a usable DSN: discovery will say so
        return {"dsn": {k: v for k, v in parts.items() if k not in _DSN_SECRETS}}

    def discover(
        self, connection: Mapping[str, Any], *, tables: list[str] | None = None, samples: int = 5
    ) -> dict[str, Any]:
        """Tables with columns, types, primary keys and sample rows (database if a DSN is set)."""
        settings = settings_from(connection)
        if settings.dsn:
            return _discover_db(settings, tables, samples)
        return _discover_rest(settings, tables, samples)


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


_REST_STATUS = {
    401: ("auth", "the API key was rejected"),
    403: ("permission", "the API key may not read this schema"),
    404: ("config", "no REST API at this url"),
    406: ("config", "the schema is not exposed by the REST API"),
}
"""HTTP status of the OpenAPI request -> (category, what it means); 406 is PostgREST's
answer for a schema it does not serve (PGRST106)."""

_DB_HINTS = {
    "auth": "the user or password was rejected",
    "config": "the database named in db_url does not exist",
    "permission": "the user may not connect to this database",
    "network": "the host could not be reached (check host, port and that the server runs)",
    "timeout": "the server did not answer in time",
}


def _check_rest(settings: Settings) -> DoctorResult:
    """Fetch the OpenAPI description: it proves the URL, the key and the schema at once."""
    import httpx

    from osiris_driver_supabase.rest_reader import describe_rest

    start = time.perf_counter()
    try:
        describe_rest(settings, settings.schema)
    except httpx.HTTPStatusError as exc:
        code = exc.response.status_code
        category, meaning = _REST_STATUS.get(code, ("unknown", "unexpected answer"))
        return DoctorResult(
            False,
            category,  # type: ignore[arg-type]
            f"REST API answered HTTP {code}: {meaning}",
            _elapsed_ms(start),
            {"status": code},
        )
    except httpx.TimeoutException:
        return DoctorResult(
            False,
            "timeout",
            f"REST API did not answer within {settings.timeout:g}s",
            _elapsed_ms(start),
        )
    except httpx.HTTPError as exc:
        return DoctorResult(
            False, "network", f"REST API unreachable ({type(exc).__name__})", _elapsed_ms(start)
        )
    return DoctorResult(True, "ok", "REST API reachable, key accepted", _elapsed_ms(start))


def _check_db(settings: Settings) -> DoctorResult:
    import psycopg

    start = time.perf_counter()
    try:
        with connect(settings) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        category = _db_category(str(exc).lower())
        # Why not the raw message: it can echo the DSN's host and user; the category says enough.
        return DoctorResult(
            False,
            category,  # type: ignore[arg-type]
            f"database connection failed: {_DB_HINTS[category]}",
            _elapsed_ms(start),
        )
    pooler = " via the transaction pooler" if settings.transaction_pooler else ""
    return DoctorResult(
        True,
        "ok",
        f"database reachable{pooler} (PostgreSQL {version})",
        _elapsed_ms(start),
        {"server_version": version},
    )


def _db_category(text: str) -> str:
    """The doctor category of a libpq connection error message (lower-cased)."""
    if (
        "password" in text
        or "authentication" in text
        or ("role" in text and "does not exist" in text)
    ):
        return "auth"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "database" in text and "does not exist" in text:
        return "config"
    if "permission" in text:
        return "permission"
    return "network"


def _discover_db(settings: Settings, tables: list[str] | None, samples: int) -> dict[str, Any]:
    import psycopg

    from osiris_driver_supabase.connection import qualified

    out = []
    with connect(settings) as conn:
        conn.read_only = True
        rows = conn.execute(
            "SELECT c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod), c.is_nullable = 'YES'"
            " FROM information_schema.columns c JOIN pg_attribute a"
            " ON a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name"
            " WHERE c.table_schema = %s ORDER BY c.table_name, c.ordinal_position",
            (settings.schema,),
        ).fetchall()
        by_table: dict[str, list[dict[str, Any]]] = {}
        for table, column, typ, nullable in rows:
            if tables is None or table in tables:
                by_table.setdefault(table, []).append(
                    {"name": column, "type": typ, "nullable": nullable}
                )
        _lenient_time_loaders(conn)
        for table, columns in by_table.items():
            entry: dict[str, Any] = {"name": table, "schema": settings.schema, "columns": columns}
            try:
                with conn.transaction():  # a savepoint: one unreadable table spoils nothing else
                    entry.update(_db_table(conn, qualified(settings.schema, table), samples))
            except psycopg.Error as exc:
                if conn.broken:
                    raise
                entry["error"] = exc.diag.message_primary or str(exc).splitlines()[0]
            out.append(entry)
    return {"source": "database", "tables": out}


def _db_table(conn: Any, name: str, samples: int) -> dict[str, Any]:
    """Kind, primary key, row estimate and sample rows of one quoted ``schema.table``."""
    pk = [
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
            (name,),
        ).fetchall()
    ]
    estimate, kind = conn.execute(
        "SELECT reltuples::bigint, relkind FROM pg_class WHERE oid = %s::regclass", (name,)
    ).fetchone()
    view = kind == "v"
    cur = conn.execute(f"SELECT * FROM {name} LIMIT %s", (samples,))
    names = [d.name for d in cur.description]
    return {
        "type": "view" if view else "table",
        "primary_key": pk,
        "row_estimate": None if view else max(int(estimate), -1),
        "samples": [dict(zip(names, map(_plain, r), strict=True)) for r in cur.fetchall()],
    }


def _lenient_time_loaders(conn: Any) -> None:
    """Dates Python cannot hold ('infinity', BC, year 10000+) come as PostgreSQL's text instead
    of failing the discovery; intervals always come as text, as REST shows them ('1 mon 2 days')."""
    import psycopg
    from psycopg.types import datetime as pg_datetime
    from psycopg.types.string import TextLoader

    def lenient(base: type) -> type:
        class Lenient(base):  # type: ignore[misc, valid-type]
            def load(self, data: Any) -> Any:
                try:
                    return super().load(data)
                except psycopg.DataError:
                    return bytes(data).decode()

        return Lenient

    for pg_type, loader in (
        ("date", pg_datetime.DateLoader),
        ("timestamp", pg_datetime.TimestampLoader),
        ("timestamptz", pg_datetime.TimestamptzLoader),
    ):
        conn.adapters.register_loader(pg_type, lenient(loader))
    conn.adapters.register_loader("interval", TextLoader)


def _discover_rest(settings: Settings, tables: list[str] | None, samples: int) -> dict[str, Any]:
    from osiris_driver_supabase.connection import rest_client
    from osiris_driver_supabase.rest_reader import describe_rest

    spec = describe_rest(settings, settings.schema)
    with rest_client(settings) as client:
        return {
            "source": "rest",
            "tables": [
                _rest_table(client, settings.schema, table, definition, samples)
                for table, definition in sorted((spec.get("definitions") or {}).items())
                if tables is None or table in tables
            ],
        }


def _rest_table(
    client: Any, schema: str, table: str, definition: dict[str, Any], samples: int
) -> dict[str, Any]:
    """One table as the OpenAPI description shows it, with ``samples`` rows read through REST."""
    required = set(definition.get("required") or [])
    props = definition.get("properties") or {}
    columns = [
        {"name": n, "type": p.get("format") or p.get("type"), "nullable": n not in required}
        for n, p in props.items()
    ]
    pk = [n for n, p in props.items() if "<pk/>" in (p.get("description") or "")]
    entry = {"name": table, "schema": schema, "columns": columns, "primary_key": pk, "samples": []}
    if samples:
        entry.update(_rest_samples(client, table, samples))
    return entry


def _rest_samples(client: Any, table: str, samples: int) -> dict[str, Any]:
    """``{"samples": rows}``, or ``{"error": ...}`` when the key may not read this table: one
    forbidden table must not hide the others."""
    from postgrest.exceptions import APIError

    try:
        return {"samples": client.table(table).select("*").limit(samples).execute().data}
    except APIError as exc:
        return {"error": str(exc.message or exc)}


def _plain(value: Any) -> Any:
    """Sample values as JSON-safe text where Python objects would not serialise."""
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # as REST and the other families show them
    return str(value)
