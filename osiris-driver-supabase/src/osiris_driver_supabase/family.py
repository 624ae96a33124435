"""The `supabase` connection family: what an entry holds, how to check it, what it contains."""

from __future__ import annotations

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

    def discover(
        self, connection: Mapping[str, Any], *, tables: list[str] | None = None, samples: int = 5
    ) -> dict[str, Any]:
        """Tables with columns, types, primary keys and sample rows (database if a DSN is set)."""
        settings = settings_from(connection)
        if settings.dsn:
            return _discover_db(settings, tables, samples)
        return _discover_rest(settings, tables, samples)


def _check_rest(settings: Settings) -> DoctorResult:
    import httpx

    from osiris_driver_supabase.rest_reader import describe_rest

    start = time.perf_counter()
    try:
        describe_rest(settings, settings.schema)
    except httpx.HTTPStatusError as exc:
        code = exc.response.status_code
        category = (
            "auth"
            if code == 401
            else "permission"
            if code == 403
            else "config"
            if code == 404
            else "unknown"
        )
        return DoctorResult(
            False, category, f"REST API answered HTTP {code}", details={"status": code}
        )
    except httpx.TimeoutException:
        return DoctorResult(
            False, "timeout", f"REST API did not answer within {settings.timeout:g}s"
        )
    except httpx.HTTPError as exc:
        return DoctorResult(False, "network", f"REST API unreachable ({type(exc).__name__})")
    ms = (time.perf_counter() - start) * 1000
    return DoctorResult(True, "ok", "REST API reachable, key accepted", ms)


def _check_db(settings: Settings) -> DoctorResult:
    import psycopg

    start = time.perf_counter()
    try:
        with connect(settings) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        text = str(exc).lower()
        if (
            "password" in text
            or "authentication" in text
            or ("role" in text and "does not exist" in text)
        ):
            category = "auth"
        elif "timeout" in text:
            category = "timeout"
        elif "database" in text and "does not exist" in text:
            category = "config"
        elif "permission" in text:
            category = "permission"
        else:
            category = "network"
        # Why not the raw message: it can echo the DSN's host and user; the category says enough.
        return DoctorResult(False, category, f"database connection failed ({category})")
    ms = (time.perf_counter() - start) * 1000
    pooler = " via the transaction pooler" if settings.transaction_pooler else ""
    return DoctorResult(
        True,
        "ok",
        f"database reachable{pooler} (PostgreSQL {version})",
        ms,
        {"server_version": version},
    )


def _discover_db(settings: Settings, tables: list[str] | None, samples: int) -> dict[str, Any]:
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
        for table, columns in by_table.items():
            name = qualified(settings.schema, table)
            pk = [
                r[0]
                for r in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                    (name,),
                ).fetchall()
            ]
            estimate = conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", (name,)
            ).fetchone()[0]
            cur = conn.execute(f"SELECT * FROM {name} LIMIT %s", (samples,))
            names = [d.name for d in cur.description]
            sample_rows = [dict(zip(names, map(_plain, r), strict=True)) for r in cur.fetchall()]
            out.append(
                {
                    "name": table,
                    "schema": settings.schema,
                    "columns": columns,
                    "primary_key": pk,
                    "row_estimate": max(int(estimate), -1),
                    "samples": sample_rows,
                }
            )
    return {"source": "database", "tables": out}


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
    rows = client.table(table).select("*").limit(samples).execute().data if samples else []
    return {"name": table, "schema": schema, "columns": columns, "primary_key": pk, "samples": rows}


def _plain(value: Any) -> Any:
    """Sample values as JSON-safe text where Python objects would not serialise."""
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return str(value)
