"""Arrow record batches → PostgreSQL binary COPY rows, vectorised with numpy.

Why: PostgreSQL ingests its binary COPY format about 40% faster than CSV (no text parsing of
numbers, dates and timestamps), and the encoding here stays column-wise in numpy. It is used
only when every (Arrow type, target column type) pair is one this module encodes exactly;
anything else (uuid, arrays, intervals with months, wide decimals, ...) makes the whole COPY use
CSV instead (``plan`` returns None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from osiris.errors import OsirisError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10957
_PG_EPOCH_US = 946_684_800_000_000
_INTS = {"smallint": ("int16", ">i2"), "integer": ("int32", ">i4"), "bigint": ("int64", ">i8")}
_TEXT = {"text", "character varying", "json"}


@dataclass(frozen=True)
class _Column:
    """How one column is encoded: fixed width (``width``) or variable (``prefix`` + bytes)."""

    name: str
    encode: Callable[[pa.Array], tuple[np.ndarray, np.ndarray | None, object]]


def plan(schema: pa.Schema, target_types: dict[str, str]) -> list[_Column] | None:
    """Encoders for every column, or None when any column needs the CSV path."""
    columns = []
    for field in schema:
        encoder = _encoder(field, target_types.get(field.name, ""))
        if encoder is None:
            return None
        columns.append(_Column(field.name, encoder))
    return columns


def _encoder(field: pa.Field, pg_type: str):
    import pyarrow as pa
    import pyarrow.types as t

    typ = field.type
    if pg_type in _INTS and (t.is_integer(typ) and not t.is_uint64(typ)):
        arrow_name, be = _INTS[pg_type]
        return lambda a: _fixed(_cast(field, a, getattr(pa, arrow_name)()), be)
    if pg_type == "double precision" and t.is_floating(typ) and not t.is_float16(typ):
        return lambda a: _fixed(a.cast(pa.float64()), ">f8")
    if pg_type == "real" and t.is_float32(typ):
        return lambda a: _fixed(a, ">f4")
    if pg_type == "boolean" and t.is_boolean(typ):
        return lambda a: _fixed(a.cast(pa.uint8()), "u1")
    if pg_type == "date" and t.is_date32(typ):
        return lambda a: _fixed(a, ">i4", shift=-_PG_EPOCH_DAYS, view="int32")
    if pg_type in ("timestamp without time zone", "timestamp with time zone") and t.is_timestamp(
        typ
    ):
        if typ.unit == "ns" or (typ.tz is None) != (pg_type == "timestamp without time zone"):
            return None
        return lambda a: _fixed(
            a.cast(pa.timestamp("us", typ.tz)), ">i8", shift=-_PG_EPOCH_US, view="int64"
        )
    if (t.is_string(typ) or t.is_large_string(typ)) and (pg_type in _TEXT or pg_type == "jsonb"):
        prefix = b"\x01" if pg_type == "jsonb" else b""
        return lambda a: _variable(a, prefix)
    if (t.is_binary(typ) or t.is_large_binary(typ)) and pg_type == "bytea":
        return lambda a: _variable(a, b"")
    if (
        t.is_decimal128(typ)
        and pg_type == "numeric"
        and typ.precision <= 18
        and 0 <= typ.scale <= 16
    ):
        return lambda a: _numeric(a, typ.precision, typ.scale)
    if t.is_duration(typ) and typ.unit != "ns" and pg_type == "interval":
        return lambda a: _interval(a)
    return None


def _cast(field: pa.Field, array: pa.Array, target: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return array.cast(target, safe=True)
    except pa.ArrowInvalid as exc:
        raise OsirisError(
            f"Column '{field.name}' holds a value out of range for its column type ({exc})."
        ) from exc


def _valid(array: pa.Array) -> np.ndarray:
    import numpy as np

    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


def _fixed(array: pa.Array, be: str, *, shift: int = 0, view: str | None = None):
    """(sizes, data as (n, width) bytes, None)."""
    import numpy as np
    import pyarrow as pa

    valid = _valid(array)
    if view:
        array = array.view(getattr(pa, view)())
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    if shift:
        values = values.astype(np.int64) + shift
    data = values.astype(be).view(np.uint8).reshape(len(values), -1)
    sizes = np.where(valid, data.shape[1], -1).astype(np.int64)
    return sizes, data, None


def _variable(array: pa.Array, prefix: bytes):
    """(sizes, None, (values as binary, prefix)) for strings and binaries."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = array.cast(
        pa.large_binary()
        if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        else pa.binary()
    )
    lengths = pc.binary_length(values).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    sizes = np.where(lengths >= 0, lengths + len(prefix), -1)
    return sizes, None, (values, prefix)


def _numeric(array: pa.Array, precision: int, scale: int):
    """decimal128 with precision ≤ 18 → numeric binary: digits in base 10000, fixed count per value."""
    import numpy as np

    valid = _valid(array)
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[
        2 * array.offset : 2 * (array.offset + len(array))
    ]
    unscaled = words[0::2].copy()  # |value| < 10**18 fits the low word (two's complement)
    unscaled[~valid] = 0
    negative = unscaled < 0
    mag = np.abs(unscaled)
    int_part, frac_part = mag // 10**scale, mag % 10**scale
    frac_groups = -(-scale // 4)
    frac_part = frac_part * 10 ** (frac_groups * 4 - scale)
    int_groups = -(-(precision - scale) // 4)
    digits = []
    for k in range(int_groups):
        digits.append(int_part // 10_000 ** (int_groups - 1 - k) % 10_000)
    for k in range(frac_groups):
        digits.append(frac_part // 10_000 ** (frac_groups - 1 - k) % 10_000)
    n = len(mag)
    header = np.empty((n, 4), dtype=np.int64)
    header[:, 0] = len(digits)
    header[:, 1] = int_groups - 1
    header[:, 2] = np.where(negative, 0x4000, 0)
    header[:, 3] = scale
    words16 = np.column_stack([header, *digits]) if digits else header
    data = words16.astype(">i2").view(np.uint8).reshape(n, -1)
    sizes = np.where(valid, data.shape[1], -1).astype(np.int64)
    return sizes, data, None


def _interval(array: pa.Array):
    """duration → interval binary: int64 microseconds, int32 days (0), int32 months (0)."""
    import numpy as np
    import pyarrow as pa

    valid = _valid(array)
    micros = (
        array.cast(pa.duration("us")).view(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    )
    data = np.zeros((len(micros), 16), dtype=np.uint8)
    data[:, :8] = micros.astype(">i8").view(np.uint8).reshape(-1, 8)
    sizes = np.where(valid, 16, -1).astype(np.int64)
    return sizes, data, None


def encode(batch: pa.RecordBatch, columns: Sequence[_Column]) -> bytes:
    """The batch as binary COPY tuples (no header or trailer).

    Each column becomes binary pieces (its big-endian length word, then its bytes, empty for
    NULL) and pyarrow's ``binary_join_element_wise`` concatenates them row by row in C++, so
    memory stays a small multiple of the batch.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    empty = pa.scalar(b"", pa.large_binary())
    pieces: list[pa.Array | pa.Scalar] = [
        pa.scalar(len(columns).to_bytes(2, "big"), pa.large_binary())
    ]
    for i, column in enumerate(columns):
        sizes, fixed, var = column.encode(batch.column(i))
        pieces.append(_fixed_binary(sizes.astype(">i4").view(np.uint8).reshape(n, 4)))
        if fixed is not None:
            pieces.append(pc.if_else(pa.array(sizes >= 0), _fixed_binary(fixed), empty))
        else:
            values, prefix = var
            values = values.cast(pa.large_binary())
            if prefix:
                values = pc.binary_join_element_wise(
                    pa.scalar(prefix, pa.large_binary()), values, empty
                )
            pieces.append(values)
    rows = pc.binary_join_element_wise(
        *pieces, empty, null_handling="replace", null_replacement=b""
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + n + 1]
    return rows.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()


def _fixed_binary(data: np.ndarray) -> pa.Array:
    """An (n, width) byte matrix as a large_binary array of n values."""
    import numpy as np
    import pyarrow as pa

    rows, width = data.shape
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), rows, [None, pa.py_buffer(np.ascontiguousarray(data))]
    )
    return fixed.cast(pa.large_binary())
