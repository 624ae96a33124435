"""Stream a query from PostgreSQL into Arrow batches through a server-side cursor.

The query runs inside a READ ONLY transaction with ``TimeZone = UTC``; a named cursor fetches
``batch_size`` rows at a time (fewer when rows are wide), so memory follows the batch, not the
result. Values whose Python form would lose information (numeric → float-like Decimal contexts,
interval → timedelta with 30-day months, json → re-serialised objects, uuid) are loaded as their
exact text and converted column-wise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from osiris.batching import first_fetch, next_fetch
from osiris.errors import StepError

from osiris_driver_supabase import temporal
from osiris_driver_supabase.connection import Settings, connect, qualified, quote_ident
from osiris_driver_supabase.types import arrow_field, parse_interval

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

# dates and timestamps as text too: Python's datetime stops at years 1 and 9999 (temporal.py)
_TEXT_LOADED = ("numeric", "uuid", "json", "jsonb", "timetz", "date", "timestamp", "timestamptz")


def open_query(
    step_id: str,
    settings: Settings,
    sql: str,
    params: Sequence[Any],
    batch_size: int,
    ctx: Any,
    *,
    interval_text: bool = False,
) -> pa.RecordBatchReader:
    """Declare the cursor now (so the schema is known) and stream the rows as the reader is read."""
    import psycopg
    import pyarrow as pa

    try:
        conn = connect(settings)
    except psycopg.OperationalError as exc:
        raise StepError(step_id, f"cannot connect to the Supabase database: {exc}".strip()) from exc
    try:
        _read_session(conn, settings, interval_text)
        cur = conn.cursor(name="osiris_extract")
        cur.execute(sql, params or None)
        schema = pa.schema([_field(conn, cur, col, interval_text) for col in cur.description])
    except psycopg.Error as exc:
        conn.close()
        raise StepError(step_id, f"the query failed: {str(exc).strip().splitlines()[0]}") from exc
    ctx.log_event("extract_start", transport="postgres", columns=len(schema))

    def batches() -> Iterator[pa.RecordBatch]:
        total = 0
        try:
            size = first_fetch(batch_size)  # then sized by bytes: wide rows make smaller batches
            while rows := cur.fetchmany(size):
                batch = _to_batch(step_id, schema, rows, total)
                total += len(rows)
                del rows
                size = next_fetch(batch, batch_size)
                yield batch
            cur.close()
            conn.commit()
        except psycopg.Error as exc:
            raise StepError(
                step_id, f"reading failed after {total} rows: {str(exc).strip()}"
            ) from exc
        finally:
            conn.close()
        ctx.log_metric("rows_read", total, "rows")
        ctx.log_event("extract_complete", rows=total)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _read_session(conn: psycopg.Connection, settings: Settings, interval_text: bool) -> None:
    """A read-only transaction in UTC with exact loaders and the connection's schema first."""
    _exact_loaders(conn, interval_text)
    conn.read_only = True
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    conn.execute("SET LOCAL IntervalStyle = 'postgres'")
    conn.execute("SET LOCAL DateStyle = 'ISO'")
    # Unqualified names in a query resolve in the connection's schema, as tables do.
    search_path = f"{quote_ident(settings.schema)}, public"
    conn.execute("SELECT set_config('search_path', %s, true)", (search_path,))


def probe_fields(
    conn: psycopg.Connection,
    settings: Settings,
    sql: str,
    params: Sequence[Any],
    *,
    interval_text: bool = False,
) -> list[pa.Field]:
    """The Arrow fields of ``sql``'s result without reading a row (``LIMIT 0`` around it)."""
    _read_session(conn, settings, interval_text)
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM (\n{sql}\n) AS _osiris_probe LIMIT 0", list(params) or None)
        return [_field(conn, cur, col, interval_text) for col in cur.description]


def _exact_loaders(conn: psycopg.Connection, interval_text: bool) -> None:
    from psycopg.adapt import Loader
    from psycopg.types.string import TextLoader

    class IntervalLoader(Loader):
        def load(self, data: Any) -> tuple[int, int, int]:
            return parse_interval(bytes(data).decode())

    for name in _TEXT_LOADED:
        conn.adapters.register_loader(name, TextLoader)
    conn.adapters.register_loader("interval", TextLoader if interval_text else IntervalLoader)


def _field(
    conn: psycopg.Connection, cur: psycopg.Cursor, col: Any, interval_text: bool
) -> pa.Field:
    info = conn.adapters.types.get(col.type_code)
    if info is None:
        name = _type_name(conn, col.type_code)
        if name.endswith("[]"):
            _load_as_text_array(conn, cur, col.type_code)
    else:
        name = f"_{info.name}" if info.array_oid == col.type_code else info.name
    return arrow_field(
        col.name, name, precision=col.precision, scale=col.scale, interval_text=interval_text
    )


def _type_name(conn: psycopg.Connection, oid: int) -> str:
    """Name of a type psycopg does not know (enums, domains, extensions); read as text."""
    with conn.cursor() as cur:
        cur.execute("SELECT format_type(%s, NULL)", (oid,))
        return cur.fetchone()[0]


def _load_as_text_array(conn: psycopg.Connection, cur: psycopg.Cursor, oid: int) -> None:
    """Parse an array of a type psycopg does not know (enum, extension) into a list of texts.

    Without a loader psycopg returns the literal ``'{ok,sad}'``, which Arrow would silently
    split into one list item per character.
    """
    from psycopg.types import TypeInfo

    with conn.cursor() as meta:
        meta.execute("SELECT typelem::regtype::text FROM pg_type WHERE oid = %s", (oid,))
        element = meta.fetchone()[0]
    info = TypeInfo.fetch(conn, element)
    if info is not None and info.array_oid == oid:
        info.register(cur)


def _to_batch(step_id: str, schema: pa.Schema, rows: list[tuple], offset: int) -> pa.RecordBatch:
    import pyarrow as pa
    import pyarrow.types as t

    arrays = []
    for field, values in zip(schema, zip(*rows, strict=True), strict=True):
        try:
            if t.is_decimal(field.type):
                arrays.append(pa.array(values, pa.string()).cast(field.type))
            elif t.is_date32(field.type) or t.is_timestamp(field.type):
                arrays.append(temporal.from_pg_text(values, field.type))
            elif t.is_list(field.type) and t.is_decimal(field.type.value_type):
                arrays.append(pa.array(values, pa.list_(pa.string())).cast(field.type))
            elif t.is_string(field.type) and any(
                v is not None and not isinstance(v, str) for v in values
            ):
                arrays.append(
                    pa.array([None if v is None else str(v) for v in values], pa.string())
                )
            else:
                arrays.append(pa.array(values, field.type))
        except temporal.OutOfRange as exc:
            raise StepError(
                step_id,
                f"column '{field.name}' row {offset + exc.index + 1}: {exc} (Arrow timestamps"
                " in microseconds reach the year 294247).",
                hint="Cast it to text in the query (col::text) to read it as it is.",
            ) from exc
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            bad = _first_bad(field, values)
            raise StepError(
                step_id,
                f"column '{field.name}' row {offset + bad + 1}: value {values[bad]!r} cannot be"
                f" represented as {field.type} ({exc}).",
            ) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _first_bad(field: pa.Field, values: Sequence[Any]) -> int:
    import pyarrow as pa

    decimal = pa.types.is_decimal(field.type)
    for n, v in enumerate(values):
        try:
            pa.array([v], pa.string() if decimal else field.type).cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return n
    return 0


# ---- table reads over the database (select / filter / order / limit in PostgREST syntax) -------

_OPS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
}
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_IN_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"\s*|([^,]*)),')
_UNESCAPE = re.compile(r"\\(.)")


def table_sql(
    step_id: str,
    schema: str,
    table: str,
    select: str,
    filters: Mapping[str, Any],
    order: str | None,
    limit: int | None,
) -> tuple[str, list[Any]]:
    """Translate the REST-style options into parameterised SQL (values never spliced in)."""
    columns = [c.strip() for c in (select or "*").split(",") if c.strip()]
    if columns != ["*"]:
        bad = [c for c in columns if not _COLUMN.match(c)]
        if bad:
            raise StepError(
                step_id, f"select over the database takes plain column names; got {bad[0]!r}."
            )
    cols = "*" if columns == ["*"] else ", ".join(map(quote_ident, columns))
    where: list[str] = []
    params: list[Any] = []
    for column, conditions in (filters or {}).items():
        for cond in [conditions] if isinstance(conditions, str) else conditions:
            where.append(_condition(step_id, column, str(cond), params))
    sql = f"SELECT {cols} FROM {qualified(schema, table)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order:
        parts = []
        for item in order.split(","):
            name, _, direction = item.strip().partition(".")
            direction = direction or "asc"
            if direction.split(".")[0] not in ("asc", "desc"):
                raise StepError(
                    step_id, f"order {item!r} must look like column.asc or column.desc."
                )
            nulls = (
                " NULLS FIRST"
                if "nullsfirst" in direction
                else " NULLS LAST"
                if "nullslast" in direction
                else ""
            )
            parts.append(f"{quote_ident(name)} {direction.split('.')[0].upper()}{nulls}")
        sql += " ORDER BY " + ", ".join(parts)
    if limit:
        sql += " LIMIT %s"
        params.append(int(limit))
    return sql, params


def _condition(step_id: str, column: str, cond: str, params: list[Any]) -> str:
    negate = cond.startswith("not.")
    op, _, value = cond.removeprefix("not.").partition(".")
    col = quote_ident(column)
    if op in _OPS:
        params.append(value.replace("*", "%") if op in ("like", "ilike") else value)
        sql = f"{col} {_OPS[op]} %s"
    elif op == "is":
        literal = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}.get(
            value.lower()
        )
        if literal is None:
            raise StepError(
                step_id, f"filter {column}={cond!r}: 'is' takes null, true, false or unknown."
            )
        sql = f"{col} IS {literal}"
    elif op == "in":
        # An untyped array literal takes the column's type, as in PostgREST: ``in.(1.0)`` matches
        # a numeric 1.00 and an upper-case uuid matches, where comparing text would not.
        params.append(array_literal(in_items(value)))
        sql = f"{col} = ANY(%s)"
    else:
        raise StepError(step_id, f"filter {column}={cond!r}: unsupported operator {op!r}.")
    return f"NOT ({sql})" if negate else sql


def in_items(value: str) -> list[str]:
    """The values of a PostgREST ``in`` list, ``(a,"b,c",d)``: double quotes keep commas and
    parentheses in a value, a backslash escapes the next character inside them."""
    text = value.strip().removeprefix("(").removesuffix(")")
    if not text.strip():
        return []
    return [
        _UNESCAPE.sub(r"\1", m[1]) if m[1] is not None else m[2].strip()
        for m in _IN_ITEM.finditer(text + ",")
    ]


def array_literal(items: Sequence[str]) -> str:
    """A Postgres array literal with every element quoted, so no value reads as NULL or splits."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items)
    return "{" + ",".join(quoted) + "}"
