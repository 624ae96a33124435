"""MySQL <-> Arrow type mapping, both directions (the README's table is the contract).

Reading: the server sends every value as text (the text protocol). Each column is turned into an
Arrow array of strings/bytes and cast as a whole column to its exact Arrow type, which is faster
than building one Python ``Decimal``/``datetime`` per value and never goes through a float.
Writing: each Arrow column is rendered as text for ``LOAD DATA`` with the same vectorised casts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

JSON_METADATA = {b"osiris.type": b"json"}
"""Field metadata marking a string column as JSON text (honoured by writers that have a JSON type)."""

# MySQL protocol type codes and column flags.
DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG, INT24 = range(10)
DATE, TIME, DATETIME, YEAR, NEWDATE, VARCHAR, BIT = range(10, 17)
JSON, NEWDECIMAL, ENUM, SET = 245, 246, 247, 248
TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB, VAR_STRING, STRING, GEOMETRY = range(249, 256)
UNSIGNED_FLAG, BINARY_CHARSET, PRI_KEY_FLAG, NOT_NULL_FLAG = 32, 63, 2, 1
BLOB_TYPES = {TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB}
TEXT_TYPES = {VARCHAR, ENUM, SET, VAR_STRING, STRING} | BLOB_TYPES


@dataclass(frozen=True)
class Column:
    """What the result metadata says about one column."""

    name: str
    type_code: int
    flags: int
    charsetnr: int
    length: int
    scale: int
    is_json: bool = False

    @property
    def unsigned(self) -> bool:
        return bool(self.flags & UNSIGNED_FLAG)

    @property
    def primary_key(self) -> bool:
        return bool(self.flags & PRI_KEY_FLAG)

    @property
    def binary(self) -> bool:
        return self.type_code == GEOMETRY or (
            self.type_code in TEXT_TYPES and self.charsetnr == BINARY_CHARSET
        )

    def arrow_type(self, *, tinyint1_as_bool: bool = False) -> pa.DataType:
        import pyarrow as pa

        t, u = self.type_code, self.unsigned
        if t == TINY:
            if tinyint1_as_bool and self.length == 1:
                return pa.bool_()
            return pa.uint8() if u else pa.int8()
        if t == SHORT:
            return pa.uint16() if u else pa.int16()
        if t in (INT24, LONG):
            return pa.uint32() if u else pa.int32()
        if t == LONGLONG:
            return pa.uint64() if u else pa.int64()
        if t in (DECIMAL, NEWDECIMAL):
            precision = max(1, self.length - (1 if self.scale else 0) - (0 if u else 1))
            precision = max(precision, self.scale)
            return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, self.scale)
        if t == FLOAT:
            return pa.float32()
        if t == DOUBLE:
            return pa.float64()
        if t in (DATE, NEWDATE):
            return pa.date32()
        if t == DATETIME:
            return pa.timestamp("us")
        if t == TIMESTAMP:
            return pa.timestamp("us", tz="UTC")
        if t == TIME:
            return pa.duration("us")
        if t == YEAR:
            return pa.int16()
        if t == BIT:
            return pa.uint64()
        if self.binary:
            return pa.binary()
        return pa.string()

    def arrow_field(self, *, tinyint1_as_bool: bool = False) -> pa.Field:
        import pyarrow as pa

        meta = JSON_METADATA if self.is_json else None
        return pa.field(self.name, self.arrow_type(tinyint1_as_bool=tinyint1_as_bool), True, meta)


def _parse_time(text: str) -> int:
    """``[-]HHH:MM:SS[.ffffff]`` (up to ±838:59:59.999999) as microseconds."""
    negative = text.startswith("-")
    hms, _, frac = text.lstrip("-").partition(".")
    h, m, s = (int(p) for p in hms.split(":"))
    micros = ((h * 60 + m) * 60 + s) * 1_000_000 + int((frac + "000000")[:6])
    return -micros if negative else micros


def _raw_text(value: Any) -> Any:
    return value.decode("ascii") if isinstance(value, bytes) else value


def column_converter(col: Column, target: pa.DataType) -> Callable[[pa.Array], pa.Array]:
    """A function casting the raw column (string or binary Arrow array) to ``target``.

    Raises ``pyarrow.ArrowInvalid`` when a value cannot be represented (e.g. ``0000-00-00``);
    the caller then finds the first offending row to name it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if target == pa.binary():
        return lambda arr: arr.cast(pa.binary())
    if target == pa.string():
        return lambda arr: arr.cast(pa.string())
    if pa.types.is_duration(target):
        return lambda arr: pa.array(
            [None if v is None else _parse_time(_raw_text(v)) for v in arr.to_pylist()],
            pa.int64(),
        ).cast(target)
    if col.type_code == BIT:
        return lambda arr: pa.array(
            [None if v is None else int.from_bytes(v, "big") for v in arr.to_pylist()], target
        )
    if pa.types.is_boolean(target):
        return lambda arr: pc.not_equal(arr.cast(pa.string()).cast(pa.int8()), 0)
    if pa.types.is_timestamp(target) and target.tz:
        naive = pa.timestamp(target.unit)
        return lambda arr: arr.cast(pa.string()).cast(naive).cast(target)
    return lambda arr: arr.cast(pa.string()).cast(target)


def _check_python_value(target: pa.DataType, value: Any) -> None:
    """Convert one value to find out whether it is representable (used only after a failure)."""
    import pyarrow as pa

    if pa.types.is_boolean(target) or pa.types.is_duration(target):
        return
    if pa.types.is_timestamp(target):
        target = pa.timestamp(target.unit)
    pa.array([_raw_text(value)], pa.string()).cast(target)


def first_bad_row(raw: pa.Array, target: pa.DataType) -> int | None:
    """Index of the first value that does not cast to ``target`` (slow path, errors only)."""
    for index, value in enumerate(raw.to_pylist()):
        if value is None:
            continue
        try:
            _check_python_value(target, value)
        except (*pa_errors(), ValueError):
            return index
    return None


def pa_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowNotImplementedError)


# --- writing ---------------------------------------------------------------------------------


def mysql_column_type(field: pa.Field, *, key: bool = False) -> str:
    """The MySQL column type ``create_table`` uses for an Arrow field (the inverse mapping)."""
    import pyarrow as pa

    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    meta = field.metadata or {}
    if meta.get(b"osiris.type") == b"json" and not key:
        return "JSON"
    ints = {
        pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INT", pa.int64(): "BIGINT",
        pa.uint8(): "TINYINT UNSIGNED", pa.uint16(): "SMALLINT UNSIGNED",
        pa.uint32(): "INT UNSIGNED", pa.uint64(): "BIGINT UNSIGNED",
    }  # fmt: skip
    if t in ints:
        return ints[t]
    if pa.types.is_boolean(t):
        return "TINYINT(1)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_decimal(t):
        if t.precision > 65 or t.scale > 38 or t.scale < 0:
            raise ValueError(
                f"column '{field.name}': {t} does not fit MySQL DECIMAL (precision ≤ 65, scale 0..38)"
            )
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "VARCHAR(255)" if key else "LONGTEXT"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "VARBINARY(255)" if key else "LONGBLOB"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "DATETIME" if t.unit == "s" else "DATETIME(3)" if t.unit == "ms" else "DATETIME(6)"
    if pa.types.is_duration(t) or pa.types.is_time(t) or pa.types.is_interval(t):
        return "TIME(6)"
    if pa.types.is_null(t):
        return "TEXT"
    raise ValueError(f"column '{field.name}': Arrow type {t} has no MySQL column type")


_TIME_LIMIT_US = (838 * 3600 + 59 * 60 + 59) * 1_000_000 + 999_999


def _format_time(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    seconds, frac = divmod(micros, 1_000_000)
    minutes, s = divmod(seconds, 60)
    h, m = divmod(minutes, 60)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}.{frac:06d}"


def _time_text(arr: pa.Array, name: str) -> pa.Array:
    import pyarrow as pa

    t = arr.type
    unit = t.unit
    per_us = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[unit]
    out = []
    for index, value in enumerate(arr.cast(pa.int64()).to_pylist()):
        if value is None:
            out.append(None)
            continue
        micros = value * per_us if per_us else value // 1000
        if per_us is None and value % 1000:
            raise CellError(name, index, "has nanoseconds, which MySQL TIME cannot hold")
        if abs(micros) > _TIME_LIMIT_US:
            raise CellError(name, index, "is outside MySQL TIME's range ±838:59:59.999999")
        out.append(_format_time(micros))
    return pa.array(out, pa.string())


class CellError(ValueError):
    """A value that the target cannot hold, with its column and row index in the batch."""

    def __init__(self, column: str, row: int, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.row = row
        self.problem = problem


def intervals_as_durations(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with month_day_nano intervals as microsecond durations (MySQL TIME).

    A MySQL TIME read back from PostgreSQL or DuckDB arrives as an interval; days are 24 hours
    there, as in TIME. Months (no fixed length) and nanoseconds cannot be held: CellError.
    """
    import pyarrow as pa

    if not any(pa.types.is_interval(f.type) for f in batch.schema):
        return batch
    columns = [
        _interval_micros(arr, field.name) if pa.types.is_interval(arr.type) else arr
        for arr, field in zip(batch.columns, batch.schema, strict=True)
    ]
    fields = [
        field.with_type(pa.duration("us")) if pa.types.is_interval(field.type) else field
        for field in batch.schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, batch.schema.metadata))


def _interval_micros(arr: pa.Array, name: str) -> pa.Array:
    import pyarrow as pa

    out = []
    for index, value in enumerate(arr.to_pylist()):
        if value is None:
            out.append(None)
        elif value.months:
            raise CellError(name, index, "has months, which MySQL TIME cannot hold")
        elif value.nanoseconds % 1000:
            raise CellError(name, index, "has nanoseconds, which MySQL TIME cannot hold")
        else:
            out.append(value.days * 86_400_000_000 + value.nanoseconds // 1000)
    return pa.array(out, pa.duration("us"))


def _first_true(mask: pa.Array) -> int:
    import pyarrow.compute as pc

    return int(pc.index(mask, True).as_py())


def _refuse_nanoseconds(arr: pa.Array, name: str) -> None:
    """Raise CellError for a nanosecond timestamp with a sub-microsecond part.

    MySQL keeps microseconds at most and would drop the rest without a warning, on both paths.
    """
    from osiris.exactness import beyond_second_digits

    found = beyond_second_digits(arr, 6)
    if found is not None:
        raise CellError(name, found[0], "has nanoseconds, which MySQL DATETIME cannot hold")


def to_load_text(arr: pa.Array, name: str) -> pa.Array:
    """Render one column as ``LOAD DATA`` text (tab-separated, backslash-escaped, ``\\N`` NULL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_boolean(t):
        text = arr.cast(pa.int8()).cast(pa.string())
    elif pa.types.is_floating(t):
        bad = pc.invert(pc.is_finite(arr))
        if pc.any(bad).as_py():
            raise CellError(name, _first_true(pc.fill_null(bad, False)), "is NaN or infinite")
        # float32 via float64: its exact value; the shortest float32 text may overflow FLOAT.
        text = arr.cast(pa.float64()).cast(pa.string())
    elif pa.types.is_timestamp(t):
        _refuse_nanoseconds(arr, name)
        text = arr.cast(pa.timestamp(t.unit)).cast(pa.string())
    elif pa.types.is_duration(t) or pa.types.is_time(t):
        text = _time_text(arr, name)
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        text = arr.cast(pa.binary())
    elif pa.types.is_null(t):
        return pa.array([b"\\N"] * len(arr), pa.binary())
    else:
        text = arr.cast(pa.string())
    if not (pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_temporal(t)):
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n")):
            text = pc.replace_substring(text, raw, escaped)
    return pc.fill_null(text.cast(pa.binary()), b"\\N")


def python_for_insert(batch: pa.RecordBatch) -> list[tuple]:
    """Rows of Python values for parameterised INSERTs (the path without ``LOAD DATA``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for arr, field in zip(batch.columns, batch.schema, strict=True):
        t = arr.type
        if pa.types.is_duration(t) or pa.types.is_time(t):
            arr = _time_text(arr, field.name)
        elif pa.types.is_timestamp(t):
            _refuse_nanoseconds(arr, field.name)
            arr = arr.cast(pa.timestamp(t.unit))
        elif pa.types.is_boolean(t):
            arr = arr.cast(pa.int8())
        elif pa.types.is_floating(t):
            bad = pc.fill_null(pc.invert(pc.is_finite(arr)), False)
            if pc.any(bad).as_py():
                raise CellError(field.name, _first_true(bad), "is NaN or infinite")
        columns.append(arr.to_pylist())
    return list(zip(*columns, strict=True))


def load_data_block(batch: pa.RecordBatch) -> memoryview:
    """One batch as the bytes of a ``LOAD DATA`` file, built without a per-row Python loop."""
    import pyarrow.compute as pc

    columns = [
        to_load_text(col, field.name)
        for col, field in zip(batch.columns, batch.schema, strict=True)
    ]
    joined = pc.binary_join_element_wise(*columns, b"\t") if len(columns) > 1 else columns[0]
    joined = pc.binary_join_element_wise(joined, b"", b"\n")
    _, offsets, data = joined.buffers()
    bounds = memoryview(offsets).cast("i")
    return memoryview(data)[bounds[joined.offset] : bounds[joined.offset + len(joined)]]


def python_value(value: Any) -> Any:
    """A JSON-safe form of a value read with pymysql's default converters (discovery samples)."""
    import decimal

    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _format_time(value // dt.timedelta(microseconds=1))
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + bytes(value).hex()
    if isinstance(value, set):
        return ",".join(sorted(value))
    return value
