"""Arrow ↔ PostgreSQL type mapping, lossless where the other side can hold the value.

Postgres → Arrow (extractor): every type gets an Arrow type that holds all its values; types
Arrow has no native form for travel as exact text, marked in the field metadata
(``osiris.type``: ``json``, ``uuid``, ``numeric``; ``osiris.pg_type`` for anything else) so the
writer recreates the same Postgres type. Arrow → Postgres (writer, ``create_if_missing``): the
narrowest Postgres type that holds every Arrow value (``uint64`` → ``numeric(20,0)``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from osiris.errors import OsirisError

if TYPE_CHECKING:
    import pyarrow as pa

OSIRIS_TYPE = b"osiris.type"
"""Field-metadata key shared with the MySQL driver: ``json`` marks JSON text."""
PG_TYPE = b"osiris.pg_type"
"""Field-metadata key naming the exact Postgres type of a value carried as text."""

MAX_DECIMAL128 = 38
MAX_DECIMAL256 = 76

_TEXT_TYPES = {
    "text",
    "varchar",
    "character varying",
    "bpchar",
    "character",
    "char",
    "name",
    "citext",
}
_TEXT_MARKED = {"json": "json", "jsonb": "json", "uuid": "uuid"}


def osiris_type(field: pa.Field) -> str | None:
    meta = field.metadata or {}
    value = meta.get(OSIRIS_TYPE)
    return value.decode() if value else None


def arrow_field(
    name: str,
    pg_type: str,
    *,
    precision: int | None = None,
    scale: int | None = None,
    interval_text: bool = False,
) -> pa.Field:
    """The Arrow field for a Postgres column type (a ``pg_catalog`` name such as ``int8``).

    ``interval_text`` carries intervals as their Postgres text: Parquet and CSV cannot store
    Arrow's month_day_nano intervals, and a month is not a fixed duration.
    """
    import pyarrow as pa

    if pg_type.endswith("[]") or pg_type.startswith("_"):
        element = pg_type[:-2] if pg_type.endswith("[]") else pg_type[1:]
        inner = arrow_field(
            "item", element, precision=precision, scale=scale, interval_text=interval_text
        )
        meta = {PG_TYPE: _ddl_name(element).encode() + b"[]"}
        return pa.field(name, pa.list_(inner), metadata=meta)
    simple = {
        "int2": pa.int16(),
        "smallint": pa.int16(),
        "int4": pa.int32(),
        "integer": pa.int32(),
        "int": pa.int32(),
        "int8": pa.int64(),
        "bigint": pa.int64(),
        "oid": pa.int64(),
        "float4": pa.float32(),
        "real": pa.float32(),
        "float8": pa.float64(),
        "double precision": pa.float64(),
        "bool": pa.bool_(),
        "boolean": pa.bool_(),
        "bytea": pa.binary(),
        "date": pa.date32(),
        "time": pa.time64("us"),
        "time without time zone": pa.time64("us"),
        "timestamp": pa.timestamp("us"),
        "timestamp without time zone": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "interval": pa.month_day_nano_interval(),
    }
    if interval_text and pg_type == "interval":
        return pa.field(name, pa.string(), metadata={PG_TYPE: b"interval"})
    if pg_type in simple:
        return pa.field(name, simple[pg_type])
    if pg_type in _TEXT_TYPES:
        return pa.field(name, pa.string())
    if pg_type in _TEXT_MARKED:
        return pa.field(name, pa.string(), metadata={OSIRIS_TYPE: _TEXT_MARKED[pg_type].encode()})
    if pg_type == "numeric":
        if precision and scale is not None and precision <= MAX_DECIMAL256:
            kind = pa.decimal128 if precision <= MAX_DECIMAL128 else pa.decimal256
            return pa.field(name, kind(precision, scale))
        # Unbounded numeric has no fixed scale: exact text, never a rounded float or decimal.
        return pa.field(name, pa.string(), metadata={OSIRIS_TYPE: b"numeric"})
    return pa.field(name, pa.string(), metadata={PG_TYPE: _ddl_name(pg_type).encode()})


def _ddl_name(pg_type: str) -> str:
    return {"timetz": "time with time zone", "bpchar": "text", "varchar": "text"}.get(
        pg_type, pg_type
    )


def pg_ddl_type(field: pa.Field) -> str:
    """The Postgres column type ``create_if_missing`` uses for an Arrow field."""
    import pyarrow as pa
    import pyarrow.types as t

    meta = field.metadata or {}
    if PG_TYPE in meta:
        return meta[PG_TYPE].decode()
    marked = osiris_type(field)
    typ = field.type
    if isinstance(typ, pa.BaseExtensionType):
        if typ.extension_name == "arrow.uuid":
            return "uuid"
        if typ.extension_name == "arrow.json":
            return "jsonb"
        typ = typ.storage_type
    if t.is_dictionary(typ):
        return pg_ddl_type(pa.field(field.name, typ.value_type, metadata=field.metadata))
    if marked in ("json", "uuid", "numeric") and (
        t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ)
    ):
        return {"json": "jsonb", "uuid": "uuid", "numeric": "numeric"}[marked]
    if t.is_boolean(typ):
        return "boolean"
    if t.is_int8(typ) or t.is_int16(typ) or t.is_uint8(typ):
        return "smallint"
    if t.is_int32(typ) or t.is_uint16(typ):
        return "integer"
    if t.is_int64(typ) or t.is_uint32(typ):
        return "bigint"
    if t.is_uint64(typ):
        return "numeric(20,0)"
    if t.is_float16(typ) or t.is_float32(typ):
        return "real"
    if t.is_float64(typ):
        return "double precision"
    if t.is_decimal(typ):
        return f"numeric({typ.precision},{typ.scale})" if typ.scale >= 0 else "numeric"
    if t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ) or t.is_null(typ):
        return "text"
    if (
        t.is_binary(typ)
        or t.is_large_binary(typ)
        or t.is_fixed_size_binary(typ)
        or t.is_binary_view(typ)
    ):
        return "bytea"
    if t.is_date(typ):
        return "date"
    if t.is_time(typ):
        return "time"
    if t.is_timestamp(typ):
        return "timestamptz" if typ.tz else "timestamp"
    if t.is_duration(typ) or t.is_interval(typ):
        return "interval"
    if t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ) or t.is_list_view(typ):
        inner = pg_ddl_type(typ.value_field)
        return inner if inner.endswith("[]") else f"{inner}[]"
    if t.is_struct(typ) or t.is_map(typ):
        return "jsonb"
    raise OsirisError(
        f"Column '{field.name}' has Arrow type {typ}, which has no PostgreSQL equivalent here.",
        hint="Cast it in a duckdb.processor step first.",
    )


# ---- interval text (IntervalStyle 'postgres', the server default) ----------------------------

_INTERVAL = re.compile(
    r"^(?:(?P<y>[+-]?\d+) years? ?)?(?:(?P<mo>[+-]?\d+) mons? ?)?(?:(?P<d>[+-]?\d+) days? ?)?"
    r"(?:(?P<sign>[+-])?(?P<h>\d+):(?P<mi>\d{2}):(?P<s>\d{2}(?:\.\d+)?))?$"
)


def parse_interval(text: str) -> tuple[int, int, int]:
    """``'1 year 2 mons -3 days 04:05:06.5'`` → (months, days, nanoseconds), exactly."""
    m = _INTERVAL.match(text.strip())
    if not m or not text.strip():
        raise ValueError(f"unrecognised interval {text!r}")
    months = int(m["y"] or 0) * 12 + int(m["mo"] or 0)
    days = int(m["d"] or 0)
    nanos = 0
    if m["h"] is not None:
        seconds = int(m["h"]) * 3600 + int(m["mi"]) * 60 + Decimal(m["s"])
        nanos = int(seconds * 1_000_000_000)
        if m["sign"] == "-":
            nanos = -nanos
    return months, days, nanos
