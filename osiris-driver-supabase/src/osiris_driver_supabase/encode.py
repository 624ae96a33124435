"""Arrow record batches → PostgreSQL COPY CSV, exactly.

Why CSV through ``pyarrow.csv``: it is written in C++ and releases the GIL, so encoding overlaps
with reading the source and with the COPY itself. ``quoting_style="all_valid"`` quotes every
value and leaves NULL unquoted, which is precisely how PostgreSQL's CSV COPY tells NULL from the
empty string. Columns CSV cannot express (binary, durations, intervals, lists, structs) are turned
into Postgres input text first; numeric/temporal values the target cannot hold exactly raise an
error naming the column instead of being rounded.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from osiris_driver_supabase.micros import exact_micros
from osiris_driver_supabase.temporal import to_pg_input

if TYPE_CHECKING:
    import pyarrow as pa

_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "microseconds"}


def to_copy_csv(batch: pa.RecordBatch, first_row: int = 1) -> bytes:
    """The batch as CSV rows (no header) for ``COPY ... (FORMAT csv)``; ``first_row`` is the input
    row number of its first row (errors name the row)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = [
        _encode_column(batch.schema.field(i), batch.column(i), first_row)
        for i in range(batch.num_columns)
    ]
    table = pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    sink = io.BytesIO()
    pacsv.write_csv(
        table, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    )
    return sink.getvalue()


def _encode_column(field: pa.Field, array: pa.Array, first_row: int) -> pa.Array:
    """Return an array pyarrow's CSV writer renders as valid Postgres input for the column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t

    typ = array.type
    if isinstance(typ, pa.BaseExtensionType):
        if typ.extension_name == "arrow.uuid":
            return pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
        return _encode_column(field, array.storage, first_row)
    if t.is_dictionary(typ):
        return _encode_column(field, array.dictionary_decode(), first_row)
    if t.is_string_view(typ) or t.is_large_string(typ):
        return array.cast(pa.string())
    if (
        t.is_binary(typ)
        or t.is_large_binary(typ)
        or t.is_fixed_size_binary(typ)
        or t.is_binary_view(typ)
    ):
        return pa.array(
            [None if v is None else "\\x" + v.hex() for v in array.to_pylist()], pa.string()
        )
    if (t.is_timestamp(typ) or t.is_time64(typ)) and typ.unit == "ns":
        return exact_micros(field, array, first_row)
    if t.is_date64(typ):
        return to_pg_input(array.cast(pa.date32()))
    if t.is_date32(typ) or t.is_timestamp(typ):
        return to_pg_input(array)
    if t.is_float16(typ):
        return array.cast(pa.float32())
    if t.is_duration(typ):
        array = exact_micros(field, array, first_row)
        text = pc.cast(array.cast(pa.int64()), pa.string())
        return pc.binary_join_element_wise(text, f" {_UNIT_WORDS[typ.unit]}", "")
    if t.is_interval(typ):
        array = exact_micros(field, array, first_row)
        return pa.array([_interval_text(v) for v in array.to_pylist()], pa.string())
    if t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ) or t.is_list_view(typ):
        return pa.array([_array_literal(v) for v in array.to_pylist()], pa.string())
    if t.is_struct(typ) or t.is_map(typ):
        return pa.array(
            [
                None if v is None else json.dumps(v, default=_json_default, ensure_ascii=False)
                for v in array.to_pylist()
            ],
            pa.string(),
        )
    return array


def _json_default(value: Any) -> str:
    """Text for what JSON has no type for; bytes as ``\\x`` hex, as PostgreSQL's ``to_jsonb``
    (and the REST transport) spell bytea, not Python's ``b'...'`` repr."""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return str(value)


def _interval_text(value: Any) -> str | None:
    if value is None:
        return None
    return f"{value.months} months {value.days} days {value.nanoseconds // 1000} microseconds"


def _array_literal(values: list[Any] | None) -> str | None:
    """A Postgres array literal with every element quoted (NULL stays bare)."""
    if values is None:
        return None
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
            continue
        if isinstance(v, list):
            parts.append(_array_literal(v) or "NULL")
            continue
        if isinstance(v, bytes):
            v = "\\x" + v.hex()
        elif isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, dict):
            v = json.dumps(v, default=_json_default, ensure_ascii=False)
        text = str(v).replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'"{text}"')
    return "{" + ",".join(parts) + "}"
