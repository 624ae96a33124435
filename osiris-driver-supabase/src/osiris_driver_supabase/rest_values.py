"""Arrow values ↔ the JSON PostgREST exchanges, without losing precision either way.

Outgoing numbers that JSON would round (decimals, NaN/Infinity) travel as strings, which
PostgreSQL parses exactly into the target column; JSON-marked text is sent as the JSON value
itself so a ``jsonb`` column stores the document, not a string.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from osiris.errors import OsirisError

from osiris_driver_supabase import temporal
from osiris_driver_supabase.micros import exact_micros
from osiris_driver_supabase.types import osiris_type, parse_interval

if TYPE_CHECKING:
    import pyarrow as pa


def batch_rows(batch: pa.RecordBatch, first_row: int = 1) -> list[dict[str, Any]]:
    """Uniform JSON rows: every row carries every column, so no key is ever missing.

    ``first_row`` is the input row number of the batch's first row (errors name the row)."""
    columns = [
        _json_column(
            batch.schema.field(i),
            exact_micros(batch.schema.field(i), batch.column(i), first_row),
            first_row,
        )
        for i in range(batch.num_columns)
    ]
    names = batch.schema.names
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _json_column(field: pa.Field, array: pa.Array, first_row: int) -> list[Any]:
    far = temporal.first_beyond_python(array)
    if far is not None:
        raise OsirisError(
            f"Column '{field.name}' row {first_row + far}: {_shown(array, far)} is outside the"
            " years 1 to 9999, which dates and timestamps reach over the REST API.",
            hint="Use the postgres transport (db_url in the connection), which keeps them.",
        )
    values = array.to_pylist()
    if osiris_type(field) == "json":
        return [
            None if v is None else _document(field, v, first_row + i) for i, v in enumerate(values)
        ]
    return [_json_value(v) for v in values]


class _Inexact(ValueError):
    """A JSON number a float cannot hold."""


def _exact_float(text: str) -> float:
    """``text`` as a float, refused when that changes its value: the client serialises documents
    with ``json.dumps``, where every non-integer number is a float (``1.0000000000000000001``
    would arrive as ``1.0``, ``1e-400`` as ``0``, ``1e400`` not at all)."""
    value = float(text)
    if not math.isfinite(value) or Decimal(repr(value)) != Decimal(text):
        raise _Inexact(text)
    return value


def _no_constant(text: str) -> float:
    raise _Inexact(text)  # NaN / Infinity: not JSON, and no jsonb value either


def _document(field: pa.Field, text: str, row: int) -> Any:
    """A JSON-marked value parsed for sending as a JSON document, every number exactly."""
    try:
        return json.loads(text, parse_float=_exact_float, parse_constant=_no_constant)
    except _Inexact as exc:
        raise OsirisError(
            f"Column '{field.name}' row {row}: the JSON number {exc} cannot be sent exactly over"
            " the REST API (JSON documents travel with float numbers), so writing it would"
            " change the data.",
            hint="Use the postgres transport (db_url in the connection) for this column.",
        ) from None
    except json.JSONDecodeError as exc:
        raise OsirisError(
            f"Column '{field.name}' row {row} is marked as JSON but is not valid JSON ({exc.msg})."
        ) from None


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return (
            v
            if math.isfinite(v)
            else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
        )
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime) and v.tzinfo is None:
        # Naive means UTC, as on the postgres transport; a timestamptz column would otherwise
        # read it in the server's zone (a timestamp column ignores the offset).
        return v.isoformat() + "+00:00"
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, timedelta):
        # One microsecond count: Postgres keeps it as hours (838:59:59), never as days.
        return f"{(v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds} microseconds"
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if hasattr(v, "months") and hasattr(v, "nanoseconds"):  # pyarrow MonthDayNano
        return f"{v.months} months {v.days} days {v.nanoseconds // 1000} microseconds"
    return str(v)


def column_from_json(field: pa.Field, values: list[Any]) -> pa.Array:
    """Build one Arrow column from PostgREST JSON values for a field of the declared type."""
    import pyarrow as pa
    import pyarrow.types as t

    typ = field.type
    marked = osiris_type(field)
    if marked == "json":  # selected as ``col::text``: the document exactly as stored
        return pa.array(
            [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], typ
        )
    if t.is_binary(typ):
        return pa.array([None if v is None else _bytea(v) for v in values], typ)
    if t.is_interval(typ):
        return pa.array([None if v is None else parse_interval(v) for v in values], typ)
    if t.is_decimal(typ) or t.is_timestamp(typ) or t.is_date(typ) or t.is_time(typ):
        as_text = pa.array([None if v is None else str(v) for v in values], pa.string())
        far = (
            temporal.first_far_out_text(as_text) if t.is_timestamp(typ) or t.is_date(typ) else None
        )
        if far is not None:
            raise FarOut(field.name, far, as_text[far].as_py())
        if t.is_timestamp(typ):
            return _timestamps(as_text, typ)
        return as_text.cast(typ)
    if t.is_floating(typ):
        return pa.array([None if v is None else float(v) for v in values], typ)
    if t.is_string(typ):
        return pa.array(
            [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values],
            typ,
        )
    return pa.array(values, typ)


class FarOut(ValueError):
    """A BC, after-9999 or infinite date/timestamp read over REST; ``index`` is its row."""

    def __init__(self, column: str, index: int, value: str) -> None:
        super().__init__(value)
        self.column, self.index, self.value = column, index, value


def _shown(array: pa.Array, row: int) -> str:
    import pyarrow as pa

    try:
        return str(array.slice(row, 1).cast(pa.string())[0].as_py())
    except pa.ArrowException:
        return "the value"


def _bytea(value: str) -> bytes:
    if value.startswith("\\x"):
        return bytes.fromhex(value[2:])
    return base64.b64decode(value)


def _timestamps(text: pa.Array, typ: pa.DataType) -> pa.Array:
    """ISO text (``T`` or space, optional offset) → timestamp; offsets are converted to UTC."""
    import pyarrow as pa

    values = [None if s is None else datetime.fromisoformat(s) for s in text.to_pylist()]
    return pa.array(values, typ)
