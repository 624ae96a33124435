"""pgbinary.encode writes exactly the bytes of the previous, proven encoder (kept below as the oracle).

The oracle is the implementation that test_pg_transport.py checked against PostgreSQL itself
(binary COPY = CSV COPY): it joined two pieces per column per row with pyarrow. The new encoder
must produce the same bytes for every type pair ``plan`` accepts, NULLs, empty values, multi-byte
UTF-8, sliced batches (non-zero offsets), zero and one row, and chunk boundaries.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from osiris.errors import OsirisError
from osiris_driver_supabase import pgbinary

UTC = dt.UTC

# (Arrow type, PostgreSQL type): every pair pgbinary.plan accepts, one column each.
PAIRS = {
    "i8_small": (pa.int8(), "smallint"),
    "i16_small": (pa.int16(), "smallint"),
    "u8_small": (pa.uint8(), "smallint"),
    "i32_int": (pa.int32(), "integer"),
    "u16_int": (pa.uint16(), "integer"),
    "i16_int": (pa.int16(), "integer"),
    "i64_big": (pa.int64(), "bigint"),
    "i64_int": (pa.int64(), "integer"),
    "u32_big": (pa.uint32(), "bigint"),
    "i8_big": (pa.int8(), "bigint"),
    "f32_real": (pa.float32(), "real"),
    "f32_double": (pa.float32(), "double precision"),
    "f64_double": (pa.float64(), "double precision"),
    "bool": (pa.bool_(), "boolean"),
    "date": (pa.date32(), "date"),
    "ts_s": (pa.timestamp("s"), "timestamp without time zone"),
    "ts_ms": (pa.timestamp("ms"), "timestamp without time zone"),
    "ts_us": (pa.timestamp("us"), "timestamp without time zone"),
    "tstz_s": (pa.timestamp("s", tz="UTC"), "timestamp with time zone"),
    "tstz_us": (pa.timestamp("us", tz="Europe/Prague"), "timestamp with time zone"),
    "text": (pa.string(), "text"),
    "varchar": (pa.string(), "character varying"),
    "json": (pa.string(), "json"),
    "jsonb": (pa.string(), "jsonb"),
    "ltext": (pa.large_string(), "text"),
    "ljsonb": (pa.large_string(), "jsonb"),
    "bytea": (pa.binary(), "bytea"),
    "lbytea": (pa.large_binary(), "bytea"),
    "n18_0": (pa.decimal128(18, 0), "numeric"),
    "n12_2": (pa.decimal128(12, 2), "numeric"),
    "n18_5": (pa.decimal128(18, 5), "numeric"),
    "n18_16": (pa.decimal128(18, 16), "numeric"),
    "n4_4": (pa.decimal128(4, 4), "numeric"),
    "n1_0": (pa.decimal128(1, 0), "numeric"),
    "dur_s": (pa.duration("s"), "interval"),
    "dur_ms": (pa.duration("ms"), "interval"),
    "dur_us": (pa.duration("us"), "interval"),
}
TYPES = {name: pg for name, (_, pg) in PAIRS.items()}


def _edge_batch() -> pa.RecordBatch:
    """Five rows of extreme and awkward values per column, a NULL in each."""
    ints = {
        pa.int8(): [-128, 127, None, 0, -1],
        pa.int16(): [-32768, 32767, None, 0, 1],
        pa.uint8(): [0, 255, None, 1, 2],
        pa.int32(): [-2147483648, 2147483647, None, 0, -1],
        pa.uint16(): [0, 65535, None, 1, 2],
        pa.int64(): [-(2**63), 2**63 - 1, None, 0, 1],
        pa.uint32(): [0, 4294967295, None, 1, 2],
    }
    times = {  # the largest values each unit can hold in microseconds
        "s": [-(10**12), 9 * 10**12, None, 0, -1],
        "ms": [-(10**15), 9 * 10**15, None, 0, -1],
        "us": [-(2**63), 2**63 - 1, None, 0, -1],
    }
    text = ["", None, 'quote " and\nnewline\t😀', "Zoë 東京 🎬", "\\N"]
    blobs = [b"", b"\x00\x01\x00", None, b"\xff" * 40, b"\\"]
    decimals = {
        (18, 0): ["999999999999999999", "-999999999999999999", None, "0", "10000"],
        (12, 2): ["-9999999999.99", "0.01", None, "-0.01", "10000.00"],
        (18, 5): ["1234567890123.12345", "-0.00001", None, "99999.99999", "0"],
        (18, 16): ["99.9999999999999999", "-0.0000000000000001", None, "1", "0"],
        (4, 4): ["0.9999", "-0.0001", None, "0.5", "0"],
        (1, 0): ["9", "-9", None, "0", "1"],
    }
    columns = {}
    for name, (typ, pg) in PAIRS.items():
        if pa.types.is_integer(typ):
            values = ints[pa.int32() if (typ, pg) == (pa.int64(), "integer") else typ]
        elif typ == pa.float32():
            values = [3.4028235e38, -1.1754944e-38, None, float("nan"), float("inf")]
        elif typ == pa.float64():
            values = [float("nan"), float("-inf"), None, -0.0, 5e-324]
        elif typ == pa.bool_():
            values = [True, False, None, True, False]
        elif typ == pa.date32():
            columns[name] = pa.array(ints[pa.int32()], pa.int32()).view(typ)
            continue
        elif pa.types.is_timestamp(typ) or pa.types.is_duration(typ):
            columns[name] = pa.array(times[typ.unit], pa.int64()).view(typ)
            continue
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            values = text
        elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            values = blobs
        else:
            values = [v and Decimal(v) for v in decimals[typ.precision, typ.scale]]
        columns[name] = pa.array(values, typ)
    return pa.record_batch(columns)


def _random_batch(rows: int, seed: int) -> pa.RecordBatch:
    """Random values of every pair; 20%, 90%, all or no rows NULL, by column and seed.

    NULL rows keep whatever values the buffers hold (strings too: non-zero lengths), as Arrow
    allows, so an encoder that wrote them would differ.
    """
    rng = np.random.default_rng(seed)
    words = ["", "a", "Zoë", "東京 🎬", "line\nbreak\t", '{"k": [1, 2.5, null]}', "x" * 100]
    limits = {"s": 9 * 10**12, "ms": 9 * 10**15, "us": 2**62}
    columns = {}
    for i, (name, (typ, pg)) in enumerate(PAIRS.items()):
        if pa.types.is_integer(typ):
            info = np.iinfo(typ.to_pandas_dtype())
            low, high = (-(2**31), 2**31 - 1) if pg == "integer" and typ == pa.int64() else (0, 0)
            low, high = (low, high) if high else (int(info.min), int(info.max))
            values = pa.array(rng.integers(low, high, rows, endpoint=True), typ)
        elif pa.types.is_floating(typ):
            bits = np.uint32 if typ == pa.float32() else np.uint64
            raw = rng.integers(0, np.iinfo(bits).max, rows, dtype=bits, endpoint=True)
            values = pa.array(raw.view(typ.to_pandas_dtype()))  # every bit pattern: NaNs, inf
        elif typ == pa.bool_():
            values = pa.array(rng.random(rows) < 0.5)
        elif typ == pa.date32():
            values = pa.array(rng.integers(-(2**31), 2**31, rows, dtype=np.int32)).view(typ)
        elif pa.types.is_timestamp(typ) or pa.types.is_duration(typ):
            limit = limits[typ.unit]
            values = pa.array(rng.integers(-limit, limit, rows), pa.int64()).view(typ)
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            values = pa.array([words[k] for k in rng.integers(0, len(words), rows)], typ)
        elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            values = pa.array([rng.bytes(k) for k in rng.integers(0, 30, rows)], typ)
        else:
            digits = 10**typ.precision
            unscaled = rng.integers(-digits + 1, digits, rows)
            words128 = np.column_stack([unscaled, unscaled >> 63])
            values = pa.Array.from_buffers(typ, rows, [None, pa.py_buffer(words128)])
        nulls = rng.random(rows) < [0.2, 0.0, 0.9, 1.0][(i + seed) % 4]
        bitmap = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
        columns[name] = pa.Array.from_buffers(typ, rows, [bitmap, *values.buffers()[1:]])
    return pa.record_batch(columns)


def _both(batch: pa.RecordBatch, types: dict[str, str] = TYPES) -> tuple[bytes, bytes]:
    """(new bytes, oracle bytes); no tuples for no rows (the oracle raised, the writer skips them)."""
    columns = pgbinary.plan(batch.schema, types)
    assert columns is not None
    ref = _ref_encode(batch, _ref_plan(batch.schema, types)) if batch.num_rows else b""
    return pgbinary.encode(batch, columns), ref


def test_plan_takes_every_pair():
    assert pgbinary.plan(_edge_batch().schema, TYPES) is not None


@pytest.mark.parametrize(("start", "length"), [(0, 5), (0, 0), (2, 1), (1, 3), (4, 1), (5, 0)])
def test_edge_values_slices_and_sizes(start, length):
    new, ref = _both(_edge_batch().slice(start, length))
    assert new == ref
    assert len(new) >= length * (2 + 4 * len(PAIRS))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_batches_sliced_and_chunked(seed, monkeypatch):
    batch = _random_batch(3000, seed)
    for start, length in [(0, 3000), (1, 2998), (7, 1), (333, 777), (2999, 1), (1500, 0)]:
        new, ref = _both(batch.slice(start, length))
        assert new == ref
    monkeypatch.setattr(pgbinary, "CHUNK_ROWS", 7)  # many chunks, boundaries inside bitmaps
    new, ref = _both(batch.slice(5, 1000))
    assert new == ref


@pytest.mark.parametrize("rows", [1, 9])
def test_all_null_and_all_empty_columns(rows):
    batch = pa.record_batch({name: pa.nulls(rows, typ) for name, (typ, _) in PAIRS.items()})
    new, ref = _both(batch)
    assert new == ref
    variable = [
        n
        for n, pg in TYPES.items()
        if pg in ("text", "character varying", "json", "jsonb", "bytea")
    ]
    empty = {n: pa.array([""] * rows).cast(PAIRS[n][0]) for n in variable}
    new, ref = _both(pa.record_batch(empty), {n: TYPES[n] for n in variable})
    assert new == ref


def test_int64_offsets_path(monkeypatch):
    """Batches too big for int32 offsets take large_binary; forced here on a small batch."""
    batch = _random_batch(500, 3)
    monkeypatch.setattr(pgbinary, "_MAX_INT32_BYTES", 0)
    new, ref = _both(batch.slice(3, 400))
    assert new == ref


def test_columns_in_other_orders_and_alone():
    batch = _random_batch(200, 4)
    names = list(PAIRS)
    for order in (names[::-1], names[1::2] + names[::2], ["jsonb"], ["n12_2"], ["text", "jsonb"]):
        part = pa.record_batch([batch.column(n) for n in order], names=order)
        new, ref = _both(part.slice(1))
        assert new == ref


def test_out_of_range_integer_names_the_column():
    batch = pa.record_batch({"q": pa.array([1, 40000], pa.int32())})
    columns = pgbinary.plan(batch.schema, {"q": "smallint"})
    with pytest.raises(OsirisError, match="Column 'q' holds a value out of range"):
        pgbinary.encode(batch, columns)


def test_the_comparison_can_fail():
    """A one-byte difference (a jsonb value written as text) is caught."""
    batch = pa.record_batch({"jsonb": pa.array(['{"a": 1}', None, ""])})
    new = pgbinary.encode(batch, pgbinary.plan(batch.schema, {"jsonb": "text"}))
    assert new != _ref_encode(batch, _ref_plan(batch.schema, {"jsonb": "jsonb"}))


# --- The oracle: pgbinary's encoder as of c74d514 (only names, and no error wrapping, differ) ---

_PG_EPOCH_DAYS = 10957
_PG_EPOCH_US = 946_684_800_000_000
_INTS = {"smallint": ("int16", ">i2"), "integer": ("int32", ">i4"), "bigint": ("int64", ">i8")}
_TEXT = {"text", "character varying", "json"}


def _ref_plan(schema, target_types):
    columns = []
    for field in schema:
        encoder = _ref_encoder(field, target_types.get(field.name, ""))
        assert encoder is not None
        columns.append(encoder)
    return columns


def _ref_encoder(field, pg_type):
    import pyarrow.types as t

    typ = field.type
    if pg_type in _INTS and (t.is_integer(typ) and not t.is_uint64(typ)):
        arrow_name, be = _INTS[pg_type]
        return lambda a: _ref_fixed(a.cast(getattr(pa, arrow_name)(), safe=True), be)
    if pg_type == "double precision" and t.is_floating(typ) and not t.is_float16(typ):
        return lambda a: _ref_fixed(a.cast(pa.float64()), ">f8")
    if pg_type == "real" and t.is_float32(typ):
        return lambda a: _ref_fixed(a, ">f4")
    if pg_type == "boolean" and t.is_boolean(typ):
        return lambda a: _ref_fixed(a.cast(pa.uint8()), "u1")
    if pg_type == "date" and t.is_date32(typ):
        return lambda a: _ref_fixed(
            a, ">i4", shift=-_PG_EPOCH_DAYS, view="int32", ends={-(2**31 - 1): -(2**31)}
        )
    if pg_type in ("timestamp without time zone", "timestamp with time zone") and t.is_timestamp(
        typ
    ):
        if typ.unit == "ns" or (typ.tz is None) != (pg_type == "timestamp without time zone"):
            return None
        return lambda a: _ref_fixed(
            a.cast(pa.timestamp("us", typ.tz)),
            ">i8",
            shift=-_PG_EPOCH_US,
            view="int64",
            ends={-(2**63 - 1): -(2**63)},
        )
    if (t.is_string(typ) or t.is_large_string(typ)) and (pg_type in _TEXT or pg_type == "jsonb"):
        prefix = b"\x01" if pg_type == "jsonb" else b""
        return lambda a: _ref_variable(a, prefix)
    if (t.is_binary(typ) or t.is_large_binary(typ)) and pg_type == "bytea":
        return lambda a: _ref_variable(a, b"")
    if (
        t.is_decimal128(typ)
        and pg_type == "numeric"
        and typ.precision <= 18
        and 0 <= typ.scale <= 16
    ):
        return lambda a: _ref_numeric(a, typ.precision, typ.scale)
    if t.is_duration(typ) and typ.unit != "ns" and pg_type == "interval":
        return lambda a: _ref_interval(a)
    return None


def _ref_valid(array):
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


def _ref_fixed(array, be, *, shift=0, view=None, ends=None):
    """``ends``: Arrow's -infinity -> PostgreSQL's; +infinity (the largest value) is the same."""
    valid = _ref_valid(array)
    if view:
        array = array.view(getattr(pa, view)())
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    if shift:
        largest = np.iinfo(values.dtype).max
        shifted = np.where(values == largest, values, values.astype(np.int64) + shift)
        for ours, theirs in (ends or {}).items():
            shifted = np.where(values == ours, theirs, shifted)
        values = shifted
    data = values.astype(be).view(np.uint8).reshape(len(values), -1)
    sizes = np.where(valid, data.shape[1], -1).astype(np.int64)
    return sizes, data, None


def _ref_variable(array, prefix):
    import pyarrow.compute as pc

    values = array.cast(
        pa.large_binary()
        if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        else pa.binary()
    )
    lengths = pc.binary_length(values).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    sizes = np.where(lengths >= 0, lengths + len(prefix), -1)
    return sizes, None, (values, prefix)


def _ref_numeric(array, precision, scale):
    valid = _ref_valid(array)
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[
        2 * array.offset : 2 * (array.offset + len(array))
    ]
    unscaled = words[0::2].copy()
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


def _ref_interval(array):
    valid = _ref_valid(array)
    micros = (
        array.cast(pa.duration("us")).view(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    )
    data = np.zeros((len(micros), 16), dtype=np.uint8)
    data[:, :8] = micros.astype(">i8").view(np.uint8).reshape(-1, 8)
    sizes = np.where(valid, 16, -1).astype(np.int64)
    return sizes, data, None


def _ref_encode(batch, columns):
    import pyarrow.compute as pc

    n = batch.num_rows
    empty = pa.scalar(b"", pa.large_binary())
    pieces = [pa.scalar(len(columns).to_bytes(2, "big"), pa.large_binary())]
    for i, encode in enumerate(columns):
        sizes, fixed, var = encode(batch.column(i))
        pieces.append(_ref_fixed_binary(sizes.astype(">i4").view(np.uint8).reshape(n, 4)))
        if fixed is not None:
            pieces.append(pc.if_else(pa.array(sizes >= 0), _ref_fixed_binary(fixed), empty))
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


def _ref_fixed_binary(data):
    rows, width = data.shape
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), rows, [None, pa.py_buffer(np.ascontiguousarray(data))]
    )
    return fixed.cast(pa.large_binary())
