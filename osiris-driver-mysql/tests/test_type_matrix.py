"""The type matrix: exact Arrow types and values, and round trips through Parquet and MySQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from osiris.stepdata import StepData
from osiris_driver_mysql.extractor import MySQLExtractor
from osiris_driver_mysql.writer import MySQLWriter

pytestmark = pytest.mark.mysql
MATRIX_SQL = (Path(__file__).parent / "type_matrix.sql").read_text(encoding="utf-8")


@pytest.fixture
def matrix(mysql_exec):
    for statement in MATRIX_SQL.split(";\n"):
        if statement.strip():
            mysql_exec(statement)
    return mysql_exec


def extract(mysql_ctx, **config) -> pa.Table:
    ctx, _ = mysql_ctx("extract")
    return (
        MySQLExtractor().run(step_id="extract", config=config, inputs={}, ctx=ctx)["df"].read_all()
    )


def write(mysql_ctx, data: StepData, **config) -> float:
    ctx, recorded = mysql_ctx("write")
    MySQLWriter().run(step_id="write", config=config, inputs={"df_extract": data}, ctx=ctx)
    return recorded.metric("rows_written")


EXPECTED_TYPES = {
    "id": pa.int32(), "ti": pa.int8(), "tiu": pa.uint8(), "si": pa.int16(), "siu": pa.uint16(),
    "mi": pa.int32(), "miu": pa.uint32(), "i": pa.int32(), "iu": pa.uint32(), "bi": pa.int64(),
    "biu": pa.uint64(), "dec38": pa.decimal128(38, 10), "dec65": pa.decimal256(65, 30),
    "dec0": pa.decimal128(5, 0), "f": pa.float32(), "d": pa.float64(), "dt": pa.date32(),
    "dtm": pa.timestamp("us"), "dtm6": pa.timestamp("us"), "ts": pa.timestamp("us", "UTC"),
    "tm": pa.duration("us"), "y": pa.int16(), "c": pa.string(), "vc": pa.string(),
    "tx": pa.string(), "lt": pa.string(), "bn": pa.binary(), "vb": pa.binary(),
    "bl": pa.binary(), "j": pa.string(), "e": pa.string(), "s": pa.string(), "bt": pa.uint64(),
    "b1": pa.int8(),
}  # fmt: skip


def test_arrow_types_are_exact(matrix, mysql_ctx):
    table = extract(mysql_ctx, table="type_matrix")
    assert {f.name: f.type for f in table.schema} == EXPECTED_TYPES
    assert table.schema.field("j").metadata == {b"osiris.type": b"json"}
    assert table.schema.field("lt").metadata is None


def test_edge_values_are_exact(matrix, mysql_ctx):
    rows = {r["id"]: r for r in extract(mysql_ctx, table="type_matrix").to_pylist()}
    low, high, null, misc = rows[1], rows[2], rows[3], rows[4]
    assert high["biu"] == 18446744073709551615 and misc["biu"] == 9223372036854775808
    assert low["bi"] == -9223372036854775808
    assert high["dec38"] == Decimal("9999999999999999999999999999.9999999999")
    assert misc["dec65"] == Decimal("0.000000000000000000000000000001")
    assert high["d"] == 1.7976931348623157e308 and misc["d"] == 2.2250738585072014e-308
    assert rows[5]["d"] == 0.30000000000000004
    assert high["f"] == pa.scalar(3.4028234e38, pa.float32()).as_py()
    assert rows[5]["f"] == pa.scalar(0.1, pa.float32()).as_py()
    assert low["tm"] == -dt.timedelta(hours=838, minutes=59, seconds=59)
    assert high["tm"] == dt.timedelta(hours=838, minutes=59, seconds=59)
    assert misc["tm"] == -dt.timedelta(microseconds=1)
    assert high["dtm6"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert rows[5]["dtm6"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999999)
    assert high["ts"] == dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC)
    assert low["dt"] == dt.date(1000, 1, 1)
    assert high["vc"] == "Zoë 東京 🎬 emoji" and high["c"] == "ÿ🎬"
    assert high["tx"] == 'tab\there\nnew line \\ back "q" \'s'
    assert misc["c"] == "NULL" and misc["tx"] == "\\N" and low["vc"] == ""
    assert low["bn"] == b"\x00" * 4 and low["vb"] == b"" and high["bl"] == b"\x00" * 7
    assert misc["vb"] == b"\n\t" and misc["bl"] == b"\\N"
    assert high["j"] == '{"a": [1, 2.5, null, "ü🎬"], "b": {"c": true}}'
    assert high["s"] == "x,y,z" and high["e"] == "ü" and low["s"] == ""
    assert high["bt"] == 255 and rows[5]["bt"] == 128
    assert misc["b1"] == 5 and high["y"] == 2155
    assert all(value is None for key, value in null.items() if key != "id")


def test_tinyint1_as_bool_is_opt_in(matrix, mysql_ctx):
    table = extract(mysql_ctx, table="type_matrix", columns=["id", "b1"], tinyint1_as_bool=True)
    assert table.schema.field("b1").type == pa.bool_()
    assert dict(zip(table["id"].to_pylist(), table["b1"].to_pylist(), strict=True)) == {
        1: False, 2: True, 3: None, 4: True, 5: True,
    }  # fmt: skip


def _raw(mysql_exec, table: str) -> list[tuple]:
    return mysql_exec(f"SELECT * FROM `{table}` ORDER BY id")


def test_mysql_to_parquet_to_mysql_is_exact(matrix, mysql_ctx, tmp_path):
    path = tmp_path / "matrix.parquet"
    pq.write_table(extract(mysql_ctx, table="type_matrix"), path)
    matrix("CREATE TABLE matrix_copy LIKE type_matrix")
    data = StepData.from_table(pq.read_table(path))
    assert write(mysql_ctx, data, table="matrix_copy", mode="append") == 5
    assert _raw(matrix, "matrix_copy") == _raw(matrix, "type_matrix")


def test_mysql_to_mysql_is_exact(matrix, mysql_ctx):
    matrix("CREATE TABLE matrix_copy LIKE type_matrix")
    matrix("INSERT INTO matrix_copy (id) VALUES (99)")
    ctx, _ = mysql_ctx("extract")
    reader = MySQLExtractor().run(
        step_id="extract", config={"table": "type_matrix", "batch_size": 2}, inputs={}, ctx=ctx
    )["df"]
    write(mysql_ctx, StepData.from_reader(reader), table="matrix_copy", mode="replace")
    assert _raw(matrix, "matrix_copy") == _raw(matrix, "type_matrix")


def _comparable(table: pa.Table) -> list[dict]:
    """Values with TIMESTAMP's UTC marker dropped (create_table stores it as DATETIME(6) in UTC)."""
    rows = table.sort_by("id").to_pylist()
    for row in rows:
        if row["ts"] is not None:
            row["ts"] = row["ts"].replace(tzinfo=None)
    return rows


def test_create_table_round_trip_keeps_values(matrix, mysql_ctx, tmp_path):
    source = extract(mysql_ctx, table="type_matrix")
    path = tmp_path / "matrix.parquet"
    pq.write_table(source, path)
    data = StepData.from_table(pq.read_table(path))
    write(mysql_ctx, data, table="created", mode="replace", create_table=True, primary_key="id")
    copy = extract(mysql_ctx, table="created")
    assert _comparable(copy) == _comparable(source)
    assert copy.schema.field("j").metadata == {b"osiris.type": b"json"}
    ddl = matrix("SHOW CREATE TABLE created")[0][1]
    assert "PRIMARY KEY (`id`)" in ddl and "decimal(65,30)" in ddl
    assert "bigint(20) unsigned" in ddl and "time(6)" in ddl


def test_pymysql_reader_gives_the_same_table(matrix, mysql_ctx, monkeypatch):
    """Without mysqlclient the extractor reads with pymysql; the result must not change."""
    import os
    import sys

    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        message = (
            "mysqlclient is missing (pip install 'osiris-driver-mysql[fast]'): one reader only"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; scripts/setup.sh installs it with libmariadb-dev")
        pytest.skip(message)
    fast = extract(mysql_ctx, table="type_matrix")
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # as if mysqlclient were not installed
    monkeypatch.setitem(sys.modules, "MySQLdb.cursors", None)
    assert extract(mysql_ctx, table="type_matrix").equals(fast, check_metadata=True)
