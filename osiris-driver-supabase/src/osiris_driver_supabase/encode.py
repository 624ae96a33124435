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

from osiris.errors import OsirisError

if TYPE_CHECKING:
    import pyarrow as pa

_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "microseconds"}


def to_copy_csv(batch: pa.RecordBatch) -> bytes:
    """The batch as CSV rows (no header) for ``COPY ... (FORMAT csv)``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = [
        _encode_column(batch.schema.field(i), batch.column(i)) for i in range(batch.num_columns)
    ]
    table = pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    sink = io.BytesIO()
    pacsv.write_csv(
        table, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    )
    return sink.getvalue()


def _encode_column(field: pa.Field, array: pa.Array) -> pa.Array:
    """Return an array pyarrow's CSV writer renders as valid Postgres input for the column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t

    typ = array.type
    if isinstance(typ, pa.BaseExtensionType):
        if typ.extension_name == "arrow.uuid":
            return pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
        return _encode_column(field, array.storage)
    if t.is_dictionary(typ):
        return _encode_column(field, array.dictionary_decode())
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
    if (t.is_timestamp(typ) and typ.unit == "ns") or (t.is_time64(typ) and typ.unit == "ns"):
        target = pa.timestamp("us", typ.tz) if t.is_timestamp(typ) else pa.time64("us")
        return _cast_exact(field, array, target)
    if t.is_date64(typ):
        return array.cast(pa.date32())
    if t.is_float16(typ):
        return array.cast(pa.float32())
    if t.is_duration(typ):
        if typ.unit == "ns":
            array = _cast_exact(field, array, pa.duration("us"))
        text = pc.cast(array.cast(pa.int64()), pa.string())
        return pc.binary_join_element_wise(text, f" {_UNIT_WORDS[typ.unit]}", "")
    if t.is_interval(typ):
        return pa.array([_interval_text(field, v) for v in array.to_pylist()], pa.string())
    if t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ) or t.is_list_view(typ):
        return pa.array([_array_literal(v) for v in array.to_pylist()], pa.string())
    if t.is_struct(typ) or t.is_map(typ):
        return pa.array(
            [
                None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                for v in array.to_pylist()
            ],
            pa.string(),
        )
    return array


def _cast_exact(field: pa.Field, array: pa.Array, target: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return array.cast(target, safe=True)
    except pa.ArrowInvalid as exc:
        raise OsirisError(
            f"Column '{field.name}' holds sub-microsecond values; PostgreSQL keeps microseconds, so"
            " writing them would change the data.",
            hint="Truncate the column to microseconds in a duckdb.processor step if that is acceptable.",
        ) from exc


def _interval_text(field: pa.Field, value: Any) -> str | None:
    if value is None:
        return None
    months, days, nanos = value.months, value.days, value.nanoseconds
    if nanos % 1000:
        raise OsirisError(
            f"Column '{field.name}' holds an interval with nanoseconds; PostgreSQL keeps microseconds."
        )
    return f"{months} months {days} days {nanos // 1000} microseconds"


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
            v = json.dumps(v, default=str, ensure_ascii=False)
        text = str(v).replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'"{text}"')
    return "{" + ",".join(parts) + "}"
