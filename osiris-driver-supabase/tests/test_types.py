"""Pure mapping functions: Arrow → Postgres DDL, Postgres → Arrow, interval text, array literals."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import OsirisError
from osiris_driver_supabase.encode import _array_literal
from osiris_driver_supabase.types import arrow_field, parse_interval, pg_ddl_type

JSON = {b"osiris.type": b"json"}


@pytest.mark.parametrize(
    ("field", "ddl"),
    [
        (pa.field("a", pa.int8()), "smallint"),
        (pa.field("a", pa.uint16()), "integer"),
        (pa.field("a", pa.uint32()), "bigint"),
        (pa.field("a", pa.uint64()), "numeric(20,0)"),
        (pa.field("a", pa.decimal256(76, 30)), "numeric(76,30)"),
        (pa.field("a", pa.string(), metadata=JSON), "jsonb"),
        (pa.field("a", pa.string(), metadata={b"osiris.type": b"uuid"}), "uuid"),
        (pa.field("a", pa.string(), metadata={b"osiris.pg_type": b"inet"}), "inet"),
        (pa.field("a", pa.large_binary()), "bytea"),
        (pa.field("a", pa.timestamp("ms", tz="Europe/Prague")), "timestamptz"),
        (pa.field("a", pa.duration("s")), "interval"),
        (pa.field("a", pa.list_(pa.int32())), "integer[]"),
        (pa.field("a", pa.list_(pa.list_(pa.string()))), "text[]"),
        (pa.field("a", pa.struct([("x", pa.int64())])), "jsonb"),
        (pa.field("a", pa.dictionary(pa.int32(), pa.string())), "text"),
        (pa.field("a", pa.uuid()), "uuid"),
    ],
)
def test_ddl_types(field, ddl):
    assert pg_ddl_type(field) == ddl


def test_unmappable_arrow_type_names_the_column():
    with pytest.raises(OsirisError, match="Column 'u'"):
        pg_ddl_type(pa.field("u", pa.dense_union([pa.field("x", pa.int8())])))


@pytest.mark.parametrize(
    ("pg", "arrow"),
    [
        ("int8", pa.int64()),
        ("_int4", pa.list_(pa.int32())),
        ("timestamptz", pa.timestamp("us", tz="UTC")),
        ("interval", pa.month_day_nano_interval()),
        ("character varying", pa.string()),
    ],
)
def test_arrow_types(pg, arrow):
    assert arrow_field("c", pg).type == arrow


def test_numeric_widths():
    assert arrow_field("c", "numeric", precision=38, scale=0).type == pa.decimal128(38, 0)
    assert arrow_field("c", "numeric", precision=39, scale=2).type == pa.decimal256(39, 2)
    wide = arrow_field("c", "numeric", precision=100, scale=2)
    assert wide.type == pa.string() and wide.metadata == {b"osiris.type": b"numeric"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("00:00:00", (0, 0, 0)),
        ("838:59:59", (0, 0, 3_020_399 * 10**9)),
        ("-838:59:59", (0, 0, -3_020_399 * 10**9)),
        ("-00:00:00.000001", (0, 0, -1000)),
        ("1 year 2 mons -3 days +04:05:06.5", (14, -3, 14_706_500_000_000)),
        ("-1 years -2 mons", (-14, 0, 0)),
        ("1 day", (0, 1, 0)),
        ("1 mon 2 days", (1, 2, 0)),
    ],
)
def test_parse_interval(text, value):
    assert parse_interval(text) == value


def test_parse_interval_rejects_other_styles():
    with pytest.raises(ValueError):
        parse_interval("P1Y2M")


def test_array_literal_quotes_everything():
    assert _array_literal(["a,b", None, 'c"d', "e\\f"]) == '{"a,b",NULL,"c\\"d","e\\\\f"}'
    assert _array_literal([[1, 2], [3, None]]) == '{{"1","2"},{"3",NULL}}'
    assert _array_literal([b"\x00"]) == '{"\\\\x00"}'
    assert _array_literal(None) is None
