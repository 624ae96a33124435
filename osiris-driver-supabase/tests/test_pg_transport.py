"""supabase.writer / supabase.extractor over the postgres transport, against real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.connection import connect_kwargs, settings_from
from osiris_driver_supabase.extractor import SupabaseExtractor
from osiris_driver_supabase.writer import SupabaseWriter

pytestmark = pytest.mark.postgres

JSON = {b"osiris.type": b"json"}

MATRIX_DDL = """
CREATE TABLE matrix (
  id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(12,2), nbig numeric(60,20),
  nfree numeric, r real, d double precision, t text, vc varchar(20), u uuid, b boolean,
  dte date, tm time, ts timestamp, tstz timestamptz, iv interval, j json, jb jsonb, by bytea,
  ai int[], at text[]
)"""
MATRIX_ROWS = """
INSERT INTO matrix VALUES
 (1, -32768, -2147483648, -9223372036854775808, -9999999999.99,
  '-1234567890123456789012345678901234567890.12345678901234567890',
  '3.14159265358979323846264338327950288419716939937510582097494459',
  3.4028235e38, 1.7976931348623157e308, '', '', '00000000-0000-0000-0000-000000000000', false,
  '0001-01-01', '00:00:00', '1000-01-01 00:00:00', '1970-01-01 00:00:00+00',
  '1 year 2 mons -3 days 04:05:06.000007', '{"a": [1, 2.50, "x"]}', '{"k": {"z": null}}',
  '\\x00ff00'::bytea, '{1,NULL,3}', '{"a,b","c\\"d",NULL}'),
 (2, 32767, 2147483647, 9223372036854775807, 9999999999.99, '1e39', '1e-30', 'NaN', '-Infinity',
  E'emoji 😀 tab\\t nl\\n quote" comma,', 'NULL', 'ffffffff-ffff-ffff-ffff-ffffffffffff', true,
  '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '2024-02-29 12:00:00.5+05:30',
  '-838:59:59', '[]', '[]', ''::bytea, '{}', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""


def _input(table: pa.Table, batch_rows: int = 2) -> dict[str, StepData]:
    batches = table.to_batches(max_chunksize=batch_rows)
    return {"df_up": StepData.from_reader(pa.RecordBatchReader.from_batches(table.schema, batches))}


def _write(tmp_path, conn, config, data, step="write"):
    ctx, rec = make_context(tmp_path, step_id=step, connection=conn)
    SupabaseWriter().run(step_id=step, config=config, inputs=data, ctx=ctx)
    return rec


def _reader(tmp_path, conn, config) -> pa.RecordBatchReader:
    ctx, _ = make_context(tmp_path, step_id="read", connection=conn)
    return SupabaseExtractor().run(step_id="read", config=config, inputs={}, ctx=ctx)["df"]


def _read(tmp_path, conn, config) -> pa.Table:
    return _reader(tmp_path, conn, config).read_all()


def _failing(table: pa.Table, after_batches: int) -> dict[str, StepData]:
    """An input stream that breaks after a few batches, as a dying source would."""

    def gen():
        for n, batch in enumerate(table.to_batches(max_chunksize=1)):
            if n == after_batches:
                raise RuntimeError("source connection lost")
            yield batch

    return {"df_up": StepData.from_reader(pa.RecordBatchReader.from_batches(table.schema, gen()))}


def test_extract_types_are_exact(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute(MATRIX_DDL)
    sb_pg.execute(MATRIX_ROWS)
    out = _read(tmp_path, sb_db_connection, {"table": "matrix", "order": "id.asc", "batch_size": 2})
    s = out.schema
    assert s.field("i8").type == pa.int64() and s.field("n").type == pa.decimal128(12, 2)
    assert s.field("nbig").type == pa.decimal256(60, 20)
    assert s.field("nfree").type == pa.string() and s.field("nfree").metadata == {
        b"osiris.type": b"numeric"
    }
    assert s.field("j").metadata == JSON and s.field("jb").metadata == JSON
    assert s.field("tstz").type == pa.timestamp("us", tz="UTC")
    assert s.field("iv").type == pa.month_day_nano_interval()
    rows = out.to_pylist()
    assert rows[0]["nbig"] == Decimal(
        "-1234567890123456789012345678901234567890.12345678901234567890"
    )
    assert rows[0]["nfree"] == "3.14159265358979323846264338327950288419716939937510582097494459"
    assert (
        rows[1]["nbig"] == Decimal("1e39")
        and rows[1]["nfree"] == "0.000000000000000000000000000001"
    )
    assert rows[0]["r"] == pa.scalar(3.4028235e38, pa.float32()).as_py()
    assert rows[1]["d"] == float("-inf") and rows[1]["r"] != rows[1]["r"]  # NaN
    assert rows[0]["by"] == b"\x00\xff\x00" and rows[1]["by"] == b""
    assert rows[1]["t"] == 'emoji 😀 tab\t nl\n quote" comma,' and rows[0]["t"] == ""
    iv = rows[0]["iv"]
    assert (iv.months, iv.days, iv.nanoseconds) == (14, -3, (4 * 3600 + 5 * 60 + 6) * 10**9 + 7000)
    assert rows[1]["iv"].nanoseconds == -(838 * 3600 + 59 * 60 + 59) * 10**9
    assert rows[1]["tstz"] == dt.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=dt.UTC)
    assert (
        json.loads(rows[0]["j"]) == {"a": [1, 2.5, "x"]} and rows[0]["j"] == '{"a": [1, 2.50, "x"]}'
    )
    assert rows[0]["ai"] == [1, None, 3] and rows[0]["at"] == ["a,b", 'c"d', None]
    assert rows[0]["u"] == "00000000-0000-0000-0000-000000000000"
    assert all(v is None for k, v in rows[2].items() if k != "id")


def test_roundtrip_through_parquet_is_lossless(tmp_path, sb_pg, sb_db_connection):
    """Supabase → Parquet → Supabase (create_if_missing) gives the same rows, compared in SQL."""
    sb_pg.execute(MATRIX_DDL)
    sb_pg.execute(MATRIX_ROWS)
    out = _read(tmp_path, sb_db_connection, {"table": "matrix", "interval_as": "text"})
    assert out.schema.field("iv").metadata == {b"osiris.pg_type": b"interval"}
    pq.write_table(out, tmp_path / "m.parquet")
    back = pq.read_table(tmp_path / "m.parquet")
    _write(
        tmp_path,
        sb_db_connection,
        {"table": "copy", "create_if_missing": True, "primary_key": "id"},
        _input(back),
    )
    types = dict(
        sb_pg.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'copy'::regclass AND attnum > 0"
        ).fetchall()
    )
    assert (
        types["nbig"] == "numeric(60,20)" and types["nfree"] == "numeric" and types["u"] == "uuid"
    )
    assert types["jb"] == "jsonb" and types["iv"] == "interval" and types["ai"] == "integer[]"
    # json becomes jsonb (same document); compare everything else exactly
    cols = "id,i2,i4,i8,n,nbig,nfree,r,d,t,vc,u,b,dte,tm,ts,tstz,iv,jb,by,ai,at"
    diff = sb_pg.execute(
        f"(SELECT {cols}, j::jsonb FROM matrix EXCEPT SELECT {cols}, j FROM copy)"
        f" UNION ALL (SELECT {cols}, j FROM copy EXCEPT SELECT {cols}, j::jsonb FROM matrix)"
    ).fetchall()
    assert diff == []
    assert sb_pg.execute("SELECT count(*) FROM copy").fetchone()[0] == 3


def test_append_replace_upsert(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text, score numeric(5,1))")
    sb_pg.execute("INSERT INTO t VALUES (1, 'old', 1.0), (9, 'gone', 9.0)")
    sb_pg.execute("GRANT SELECT ON t TO PUBLIC")
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "name": ["a", None, ""],
            "score": pa.array([Decimal("1.5"), None, Decimal("-2.0")], pa.decimal128(5, 1)),
        }
    )
    rec = _write(
        tmp_path,
        sb_db_connection,
        {"table": "t", "write_mode": "upsert", "primary_key": ["id"]},
        _input(data),
    )
    assert rec.metric("rows_written") == 3
    assert sb_pg.execute("SELECT id, name, score FROM t ORDER BY id").fetchall() == [
        (1, "a", Decimal("1.5")),
        (2, None, None),
        (3, "", Decimal("-2.0")),
        (9, "gone", Decimal("9.0")),
    ]
    _write(
        tmp_path,
        sb_db_connection,
        {"table": "t", "write_mode": "replace"},
        _input(data.slice(0, 2)),
    )
    assert sb_pg.execute("SELECT id, name FROM t ORDER BY id").fetchall() == [(1, "a"), (2, None)]
    assert sb_pg.execute("SELECT has_table_privilege('public', 't', 'SELECT')").fetchone()[0]
    _write(
        tmp_path,
        sb_db_connection,
        {"table": "t"},
        _input(pa.table({"id": pa.array([7], pa.int32())})),
    )
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 3


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_failure_midway_leaves_target_unchanged(tmp_path, sb_pg, sb_db_connection, mode):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
    sb_pg.execute("INSERT INTO t VALUES (1, 'keep'), (2, 'keep')")
    data = pa.table({"id": pa.array(range(10, 20), pa.int32()), "name": ["new"] * 10})
    with pytest.raises(RuntimeError, match="source connection lost"):
        _write(
            tmp_path,
            sb_db_connection,
            {"table": "t", "write_mode": mode, "primary_key": "id"},
            _failing(data, 5),
        )
    assert sb_pg.execute("SELECT id, name FROM t ORDER BY id").fetchall() == [
        (1, "keep"),
        (2, "keep"),
    ]


def test_replace_keeps_the_old_rows_visible_to_readers_until_it_commits(
    tmp_path, sb_pg, sb_db_connection
):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
    sb_pg.execute("INSERT INTO t VALUES (1, 'old'), (2, 'old')")
    sb_pg.execute("SET statement_timeout = '5s'")  # a blocked reader fails instead of hanging
    data = pa.table({"id": pa.array([10, 11, 12], pa.int32()), "name": ["new"] * 3})
    seen_midway = []

    def gen():
        for n, batch in enumerate(data.to_batches(max_chunksize=1)):
            if n == 2:  # the replace has begun: its DELETE ran, two rows went to COPY
                seen_midway.extend(sb_pg.execute("SELECT id, name FROM t ORDER BY id").fetchall())
            yield batch

    reader = pa.RecordBatchReader.from_batches(data.schema, gen())
    _write(
        tmp_path,
        sb_db_connection,
        {"table": "t", "write_mode": "replace"},
        {"df_up": StepData.from_reader(reader)},
    )
    assert seen_midway == [(1, "old"), (2, "old")]
    assert sb_pg.execute("SELECT id, name FROM t ORDER BY id").fetchall() == [
        (10, "new"),
        (11, "new"),
        (12, "new"),
    ]


def test_bad_value_in_a_later_batch_names_column_and_row(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, d date)")
    sb_pg.execute("INSERT INTO t VALUES (1, '2020-01-01')")
    data = pa.table(
        {
            "id": pa.array([5, 6, 7, 8], pa.int32()),
            "d": ["2021-01-01", "2021-01-02", "2021-01-03", "not a date"],
        }
    )
    with pytest.raises(StepError) as err:
        _write(
            tmp_path,
            sb_db_connection,
            {"table": "t", "write_mode": "replace"},
            _input(data, batch_rows=1),
        )
    assert (
        "column 'd'" in str(err.value)
        and "input row 4" in str(err.value)
        and "nothing was changed" in str(err.value)
    )
    assert sb_pg.execute("SELECT id FROM t").fetchall() == [(1,)]


def test_upsert_duplicate_keys_in_input_is_a_clear_error(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    data = pa.table({"id": pa.array([1, 1], pa.int32()), "v": ["a", "b"]})
    with pytest.raises(StepError, match="same primary_key value more than once"):
        _write(tmp_path, sb_db_connection, {"table": "t", "write_mode": "upsert"}, _input(data))


def test_missing_table_and_unknown_column(tmp_path, sb_pg, sb_db_connection, sb_schema):
    data = pa.table({"id": [1], "extra": ["x"]})
    with pytest.raises(StepError, match=f"table {sb_schema}.nope does not exist"):
        _write(tmp_path, sb_db_connection, {"table": "nope"}, _input(data))
    sb_pg.execute("CREATE TABLE t (id bigint)")
    with pytest.raises(StepError, match="'extra' are not in"):
        _write(tmp_path, sb_db_connection, {"table": "t"}, _input(data))


def test_mysql_shaped_arrow_maps_into_postgres(tmp_path, sb_pg, sb_db_connection):
    """What the MySQL extractor produces: TIME beyond 24 h, BIGINT UNSIGNED max, BLOB, JSON."""
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("tm", pa.duration("us")),
            pa.field("big", pa.uint64()),
            pa.field("blob", pa.binary()),
            pa.field("doc", pa.string(), metadata=JSON),
            pa.field("flag", pa.int8(), nullable=False),
            pa.field("dt", pa.timestamp("us")),
            pa.field("amount", pa.decimal128(38, 10)),
        ]
    )
    data = pa.table(
        [
            pa.array([1, 2], pa.int64()),
            pa.array(
                [
                    dt.timedelta(hours=838, minutes=59, seconds=59),
                    -dt.timedelta(hours=838, minutes=59, seconds=59),
                ],
                pa.duration("us"),
            ),
            pa.array([18446744073709551615, 0], pa.uint64()),
            pa.array([b"\x00\x01\x00", b""], pa.binary()),
            pa.array(['{"b": 1, "a": [true, null]}', "null"], pa.string()),
            pa.array([1, 0], pa.int8()),
            pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123456), None], pa.timestamp("us")),
            pa.array(
                [Decimal("1234567890123456789012345678.0123456789"), Decimal("-0.0000000001")],
                pa.decimal128(38, 10),
            ),
        ],
        schema=schema,
    )
    _write(
        tmp_path,
        sb_db_connection,
        {"table": "m", "create_if_missing": True, "primary_key": "id"},
        _input(data),
    )
    types = dict(
        sb_pg.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'm'::regclass AND attnum > 0"
        ).fetchall()
    )
    assert types == {
        "id": "bigint",
        "tm": "interval",
        "big": "numeric(20,0)",
        "blob": "bytea",
        "doc": "jsonb",
        "flag": "smallint",
        "dt": "timestamp without time zone",
        "amount": "numeric(38,10)",
    }
    pk = "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'm'::regclass AND i.indisprimary"
    assert sb_pg.execute(pk).fetchall() == [("id",)]
    notnull = "SELECT attname FROM pg_attribute WHERE attrelid = 'm'::regclass AND attnum > 0 AND attnotnull ORDER BY 1"
    assert sb_pg.execute(notnull).fetchall() == [("flag",), ("id",)]
    rows = sb_pg.execute(
        "SELECT tm::text, big::text, blob, doc::text, amount::text FROM m ORDER BY id"
    ).fetchall()
    assert rows == [
        (
            "838:59:59",
            "18446744073709551615",
            b"\x00\x01\x00",
            '{"a": [true, null], "b": 1}',
            "1234567890123456789012345678.0123456789",
        ),
        ("-838:59:59", "0", b"", "null", "-0.0000000001"),
    ]


def test_query_is_read_only(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE t (id int)")
    sb_pg.execute("CREATE SEQUENCE s")
    with pytest.raises(StepError, match=r"config\.query"):
        _read(tmp_path, sb_db_connection, {"query": "DROP TABLE t"})
    with pytest.raises(StepError, match="read-only transaction"):
        _read(
            tmp_path,
            sb_db_connection,
            {
                "query": f"SELECT nextval('{sb_pg.execute('SHOW search_path').fetchone()[0].strip(chr(34))}.s')"
            },
        )
    assert sb_pg.execute("SELECT to_regclass('t') IS NOT NULL").fetchone()[0]


def test_wide_rows_make_smaller_batches(tmp_path, sb_pg, sb_db_connection, monkeypatch):
    """Memory follows bytes, not only rows: 10 KB rows never fill a 10,000-row batch."""
    from osiris import batching

    monkeypatch.setattr(batching, "BATCH_BYTES", 64 * 1024)
    monkeypatch.setattr(batching, "FIRST_FETCH", 3)
    sb_pg.execute(
        "CREATE TABLE docs AS SELECT g AS id, repeat(chr(65 + g % 26), 10000)::bytea AS body"
        " FROM generate_series(1, 100) g"
    )
    batches = list(_reader(tmp_path, sb_db_connection, {"table": "docs", "order": "id.asc"}))
    assert [b.num_rows for b in batches] == [3] + [6] * 16 + [1]  # 64 KiB // ~10 KB = 6
    assert max(b.nbytes for b in batches) < 2 * 64 * 1024
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(1, 101))


def test_query_streams_in_batches_with_filter_order_limit(
    tmp_path, sb_pg, sb_db_connection, sb_schema
):
    sb_pg.execute(
        "CREATE TABLE t AS SELECT g AS id, g % 3 AS k, 'n' || g AS name FROM generate_series(1, 2500) g"
    )
    ctx, rec = make_context(tmp_path, step_id="read", connection=sb_db_connection)
    reader = SupabaseExtractor().run(
        step_id="read",
        config={"query": f'SELECT * FROM "{sb_schema}".t ORDER BY id', "batch_size": 1000},
        inputs={},
        ctx=ctx,
    )["df"]
    sizes = [b.num_rows for b in reader]
    assert (
        sizes == [100, 1000, 1000, 400] and rec.metric("rows_read") == 2500
    )  # a small first fetch
    out = _read(
        tmp_path,
        sb_db_connection,
        {
            "table": "t",
            "select": "id,name",
            "filter": {"k": "eq.1", "id": ["gt.10", "lte.40"], "name": "not.like.*7"},
            "order": "id.desc",
            "limit": 5,
        },
    )
    assert out.column_names == ["id", "name"]
    assert out.column("id").to_pylist() == [40, 34, 31, 28, 25]


def test_transaction_pooler_dsn_turns_prepared_statements_off():
    pooled = settings_from(
        {"db_url": "postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres"}
    )
    session = settings_from(
        {"db_url": "postgresql://u:p@aws-0-eu.pooler.supabase.com:5432/postgres"}
    )
    assert pooled.transaction_pooler and connect_kwargs(pooled)["prepare_threshold"] is None
    assert not session.transaction_pooler and "prepare_threshold" not in connect_kwargs(session)
    assert settings_from({"pg_dsn": "host=x port=6543 dbname=postgres"}).transaction_pooler


def test_binary_copy_equals_csv_copy(tmp_path, sb_pg, sb_db_connection):
    """The binary encoder writes exactly what the CSV path writes, edge values and slices included."""
    us = pa.timestamp("us")
    data = pa.table(
        {
            "i16": pa.array([-32768, 32767, None, 0, 7], pa.int16()),
            "i32": pa.array([-2147483648, 2147483647, None, 0, -1], pa.int32()),
            "i64": pa.array([-9223372036854775808, 9223372036854775807, None, 0, 1], pa.int64()),
            "u8": pa.array([0, 255, None, 1, 2], pa.uint8()),
            "u32": pa.array([0, 4294967295, None, 1, 2], pa.uint32()),
            "t8": pa.array([-128, 127, None, 0, 1], pa.int8()),
            "f32": pa.array(
                [3.4028235e38, -1.1754944e-38, None, float("nan"), float("-inf")], pa.float32()
            ),
            "f64": pa.array([1.7976931348623157e308, 5e-324, None, -0.0, 0.30000000000000004]),
            "b": pa.array([True, False, None, True, False]),
            "d": pa.array(
                [
                    dt.date(1, 1, 1),
                    dt.date(9999, 12, 31),
                    None,
                    dt.date(2000, 1, 1),
                    dt.date(1969, 12, 31),
                ]
            ),
            "ts": pa.array(
                [
                    dt.datetime(1, 1, 1),
                    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                    None,
                    dt.datetime(2000, 1, 1),
                    dt.datetime(1969, 12, 31, 23, 59, 59, 1),
                ],
                us,
            ),
            "tstz": pa.array(
                [
                    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                    None,
                    dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC),
                    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
                    None,
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "s": pa.array(["", None, 'quote " and\nnewline\t😀', "NULL", "\\N"]),
            "ls": pa.array(["a", "", None, "ü" * 300, "b"], pa.large_string()),
            "j": pa.array(['{"a": [1, 2.50, null]}', None, "[]", '"text"', "{}"]),
            "by": pa.array([b"\x00\x00", b"", None, b"\xff" * 40, b"\\"], pa.binary()),
            "n0": pa.array(
                [
                    Decimal("999999999999999999"),
                    Decimal("-999999999999999999"),
                    None,
                    Decimal(0),
                    Decimal(10000),
                ],
                pa.decimal128(18, 0),
            ),
            "n2": pa.array(
                [
                    Decimal("-9999999999.99"),
                    Decimal("0.01"),
                    None,
                    Decimal("-0.01"),
                    Decimal("10000.00"),
                ],
                pa.decimal128(12, 2),
            ),
            "n5": pa.array(
                [
                    Decimal("1234567890123.12345"),
                    Decimal("-0.00001"),
                    None,
                    Decimal("99999.99999"),
                    Decimal(0),
                ],
                pa.decimal128(18, 5),
            ),
            "n16": pa.array(
                [
                    Decimal("99.9999999999999999"),
                    Decimal("-0.0000000000000001"),
                    None,
                    Decimal("1"),
                    Decimal(0),
                ],
                pa.decimal128(18, 16),
            ),
            "dur": pa.array(
                [
                    dt.timedelta(hours=838, minutes=59, seconds=59),
                    -dt.timedelta(hours=838, minutes=59, seconds=59),
                    None,
                    dt.timedelta(microseconds=-1),
                    dt.timedelta(0),
                ],
                pa.duration("us"),
            ),
        }
    ).replace_schema_metadata(None)
    data = data.set_column(
        data.schema.get_field_index("j"), pa.field("j", pa.string(), metadata=JSON), data["j"]
    )
    data = data.append_column("id", pa.array(range(5), pa.int32()))
    for table, fmt in (("via_csv", "csv"), ("via_binary", "auto")):
        ctx, rec = make_context(tmp_path, step_id=table, connection=sb_db_connection)
        SupabaseWriter().run(
            step_id=table,
            config={"table": table, "create_if_missing": True, "copy_format": fmt},
            inputs=_input(data, batch_rows=2),
            ctx=ctx,
        )
        (start,) = [f for e, f in rec.events if e == "write_start"]
        assert start["copy_format"] == ("csv" if fmt == "csv" else "binary")
    diff = sb_pg.execute(
        "SELECT count(*) FROM ((SELECT * FROM via_csv EXCEPT ALL SELECT * FROM via_binary)"
        " UNION ALL (SELECT * FROM via_binary EXCEPT ALL SELECT * FROM via_csv)) d"
    ).fetchone()[0]
    assert diff == 0
    row = sb_pg.execute(
        "SELECT n5::text, n16::text, dur::text, ts::text, j::text, by FROM via_binary WHERE id = 0"
    ).fetchone()
    assert row == (
        "1234567890123.12345",
        "99.9999999999999999",
        "838:59:59",
        "0001-01-01 00:00:00",
        '{"a": [1, 2.50, null]}',
        b"\x00\x00",
    )
    back = _read(tmp_path, sb_db_connection, {"table": "via_binary", "order": "id.asc"})
    assert (
        back["n2"].to_pylist() == data["n2"].to_pylist()
        and back["s"].to_pylist() == data["s"].to_pylist()
    )


def test_a_decimal_the_column_would_round_is_refused(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE t (amount numeric(12,2))")
    data = pa.table({"amount": pa.array([Decimal("1.005")], pa.decimal128(12, 3))})
    with pytest.raises(StepError, match="would round"):
        _write(tmp_path, sb_db_connection, {"table": "t"}, _input(data))


def test_naive_timestamps_into_timestamptz_mean_utc(tmp_path, sb_pg, sb_db_connection):
    """Whatever the server's or the role's TimeZone, a naive timestamp is taken as UTC."""
    sb_pg.execute("CREATE TABLE t (at timestamptz, label text)")
    new_york = {
        **sb_db_connection,
        "db_url": sb_db_connection["db_url"] + "?options=-c%20TimeZone%3DAmerica/New_York",
    }
    data = pa.table(
        {"at": pa.array([dt.datetime(2024, 6, 1, 12, 0)], pa.timestamp("us")), "label": ["x"]}
    )
    for fmt in ("auto", "csv"):
        _write(tmp_path, new_york, {"table": "t", "copy_format": fmt}, _input(data))
    rows = sb_pg.execute("SELECT at FROM t").fetchall()
    assert rows == [(dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),)] * 2


def test_arrow_uuid_extension_becomes_uuid(tmp_path, sb_pg, sb_db_connection):
    import uuid

    data = pa.table({"u": pa.array([uuid.UUID(int=5).bytes, None], pa.uuid())})
    _write(tmp_path, sb_db_connection, {"table": "u", "create_if_missing": True}, _input(data))
    assert sb_pg.execute("SELECT u FROM u ORDER BY u NULLS LAST").fetchall() == [
        (uuid.UUID(int=5),),
        (None,),
    ]


def test_an_unparsable_db_url_is_refused_without_quoting_the_password(tmp_path, sb_schema):
    """libpq's parse error quotes the URL around the fault: here the tail of the password."""
    from osiris.errors import InvalidInputError
    from osiris_driver_supabase.family import SupabaseFamily

    password = "p@ss:w/rd%"
    conn = {"db_url": f"postgresql://postgres:{password}@127.0.0.1:5432/test", "schema": sb_schema}
    fragments = ("rd%", "ss:w", "w/rd", "p@ss")
    data = pa.table({"id": pa.array([1], pa.int32())})
    with pytest.raises(InvalidInputError) as written:
        _write(tmp_path, conn, {"table": "t", "create_if_missing": True}, _input(data))
    with pytest.raises(InvalidInputError) as read:
        _read(tmp_path, conn, {"query": "SELECT 1"})
    doctor = SupabaseFamily().doctor(conn)
    assert (doctor.ok, doctor.category) == (False, "config")
    for text in (str(written.value), str(read.value), doctor.message):
        assert "db_url is not a valid PostgreSQL connection string" in text
        assert not any(fragment in text for fragment in fragments), text


@pytest.mark.parametrize(
    ("ddl", "fits", "rounded"),
    [
        ("numeric(10,2)", pa.array([0.1, 2.5]), pa.array([0.1, 0.125])),
        ("real", pa.array([0.5, 1.25]), pa.array([0.5, 0.1])),
        (
            "timestamp(0)",
            pa.array([1_000_000, 2_000_000], pa.timestamp("us")),
            pa.array([1_000_000, 2_500_000], pa.timestamp("us")),
        ),
        (
            "timestamptz(3)",
            pa.array([1_001_000, 2_000_000], pa.timestamp("us", tz="UTC")),
            pa.array([1_001_000, 1_001_001], pa.timestamp("us", tz="UTC")),
        ),
        (
            "time(3)",
            pa.array([1_001_000, 0], pa.time64("us")),
            pa.array([0, 1_001_001], pa.time64("us")),
        ),
    ],
)
def test_values_the_column_would_round_are_refused(
    tmp_path, sb_pg, sb_db_connection, ddl, fits, rounded
):
    """PostgreSQL rounds floats into numeric(p,s) and seconds into timestamp(p) silently."""
    sb_pg.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {ddl})")
    ids = pa.array([1, 2], pa.int32())
    for mode in ("append", "replace", "upsert"):
        with pytest.raises(StepError, match=r"column 'v' input row 2: \(.*\) ") as err:
            _write(
                tmp_path,
                sb_db_connection,
                {"table": "t", "write_mode": mode, "primary_key": "id"},
                _input(pa.table({"id": ids, "v": rounded}), batch_rows=1),
            )
        assert "nothing was changed" in str(err.value)
        assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    _write(tmp_path, sb_db_connection, {"table": "t"}, _input(pa.table({"id": ids, "v": fits})))
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_in_filter_over_the_database_compares_as_the_column_type(tmp_path, sb_pg, sb_db_connection):
    """As in PostgREST: ``in.(1.0)`` matches numeric 1.00, an upper-case uuid matches, and a
    double-quoted value keeps its comma; comparing text matched none of these."""
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, n numeric(6,2), s text, u uuid)")
    sb_pg.execute(
        "INSERT INTO t VALUES (1, 1.00, 'a,b', 'aaaaaaaa-0000-0000-0000-000000000000'),"
        " (2, 2.50, 'c', NULL), (3, 3, 'a', NULL)"
    )
    for column, cond in [
        ("n", "in.(1.0,2.5)"),
        ("s", 'in.("a,b",c)'),
        ("u", "in.(AAAAAAAA-0000-0000-0000-000000000000)"),
    ]:
        out = _read(tmp_path, sb_db_connection, {"table": "t", "filter": {column: cond}})
        expected = [1] if column == "u" else [1, 2]
        assert sorted(out.column("id").to_pylist()) == expected, cond
    out = _read(tmp_path, sb_db_connection, {"table": "t", "filter": {"n": "not.in.(1,2.5)"}})
    assert out.column("id").to_pylist() == [3]


@pytest.mark.parametrize("action", ["CASCADE", "SET NULL"])
def test_replace_never_reaches_into_tables_that_reference_the_target(
    tmp_path, sb_pg, sb_db_connection, action
):
    """replace deletes every row first: an ON DELETE CASCADE / SET NULL foreign key would
    silently delete or blank the other table's rows, even for keys the new data brings back."""
    sb_pg.execute("CREATE TABLE p (id int PRIMARY KEY, v text)")
    sb_pg.execute(f"CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p ON DELETE {action})")
    sb_pg.execute("INSERT INTO p VALUES (1, 'old'); INSERT INTO c VALUES (10, 1)")
    data = pa.table({"id": pa.array([1], pa.int32()), "v": ["new"]})
    with pytest.raises(StepError, match=r"foreign key c_pid_fkey of sb_\w+\.c would then delete"):
        _write(tmp_path, sb_db_connection, {"table": "p", "write_mode": "replace"}, _input(data))
    assert sb_pg.execute("SELECT * FROM c").fetchall() == [(10, 1)]
    assert sb_pg.execute("SELECT * FROM p").fetchall() == [(1, "old")]
    _write(tmp_path, sb_db_connection, {"table": "p", "write_mode": "upsert"}, _input(data))
    assert sb_pg.execute("SELECT * FROM c").fetchall() == [(10, 1)]


def test_bytes_inside_a_struct_become_bytea_hex_in_jsonb(tmp_path, sb_pg, sb_db_connection):
    """Not Python's ``b'\\x00\\xff'`` repr: the ``\\x`` hex PostgreSQL's to_jsonb gives bytea."""
    typ = pa.struct([("b", pa.binary()), ("s", pa.string())])
    data = pa.table({"s": pa.array([{"b": b"\x00\xff", "s": "x"}, {"b": None, "s": "y"}], typ)})
    _write(tmp_path, sb_db_connection, {"table": "t", "create_if_missing": True}, _input(data))
    assert sb_pg.execute("SELECT s FROM t ORDER BY s->>'s'").fetchall() == [
        ({"b": "\\x00ff", "s": "x"},),
        ({"b": None, "s": "y"},),
    ]
    assert (
        sb_pg.execute("SELECT s FROM t LIMIT 1").fetchone()[0]
        == sb_pg.execute("SELECT jsonb_build_object('b', '\\x00ff'::bytea, 's', 'x')").fetchone()[0]
    )
