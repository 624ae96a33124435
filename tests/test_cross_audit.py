"""Cross-system audit: values that used to arrive changed (or not at all) between MySQL and
Supabase, each checked against what the real databases hold afterwards."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

pytestmark = [pytest.mark.mysql, pytest.mark.postgres]


@pytest.fixture
def dbs(mysql, postgres) -> tuple[Any, str, dict[str, Any], dict[str, Any], Any]:
    """(mysql fixture, database, mysql connection, supabase connection, psycopg on the schema)."""
    name = mysql.database("osiris_xaudit")
    schema, pg = postgres.schema("sb_xaudit")
    return (
        mysql,
        name,
        {**mysql.server, "database": name},
        {"db_url": postgres.url, "schema": schema},
        pg,
    )


def _step_data(table: pa.Table) -> Any:
    from osiris.stepdata import StepData

    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))
    return StepData.from_reader(reader)


def _mysql_read(tmp_path: Path, connection: dict[str, Any], **config: Any) -> pa.Table:
    from osiris.testing import make_context
    from osiris_driver_mysql.extractor import MySQLExtractor

    ctx, _ = make_context(tmp_path, step_id="my", connection=connection)
    out = MySQLExtractor().run(step_id="my", config=config, inputs={}, ctx=ctx)
    return out["df"].read_all()


def _mysql_write(tmp_path: Path, connection: dict[str, Any], data: pa.Table, **config: Any) -> None:
    from osiris.testing import make_context
    from osiris_driver_mysql.writer import MySQLWriter

    ctx, _ = make_context(tmp_path, step_id="myw", connection=connection)
    MySQLWriter().run(step_id="myw", config=config, inputs={"df_x": _step_data(data)}, ctx=ctx)


def _sb_read(tmp_path: Path, connection: dict[str, Any], **config: Any) -> pa.Table:
    from osiris.testing import make_context
    from osiris_driver_supabase.extractor import SupabaseExtractor

    ctx, _ = make_context(tmp_path, step_id="sb", connection=connection)
    return SupabaseExtractor().run(step_id="sb", config=config, inputs={}, ctx=ctx)["df"].read_all()


def _sb_write(tmp_path: Path, connection: dict[str, Any], data: pa.Table, **config: Any) -> None:
    from osiris.testing import make_context
    from osiris_driver_supabase.writer import SupabaseWriter

    ctx, _ = make_context(tmp_path, step_id="sbw", connection=connection)
    SupabaseWriter().run(step_id="sbw", config=config, inputs={"df_x": _step_data(data)}, ctx=ctx)


def test_postgres_numeric_text_is_not_rounded_into_mysql_decimal_or_int(tmp_path, dbs):
    from osiris.errors import StepError

    mysql, name, my_conn, sb_conn, pg = dbs
    pg.execute("CREATE TABLE src (id int PRIMARY KEY, n numeric)")
    pg.execute("INSERT INTO src VALUES (1, 1.20), (2, 1.239)")
    source = _sb_read(tmp_path, sb_conn, table="src", order="id.asc")
    assert source.column("n").to_pylist() == ["1.20", "1.239"]  # exact text
    mysql.sql(name, "CREATE TABLE d (id INT PRIMARY KEY, n DECIMAL(10,2))")
    mysql.sql(name, "CREATE TABLE i (id INT PRIMARY KEY, n INT)")

    with pytest.raises(StepError, match=r"column 'n' at row with id=2 \(1\.239\) has more than 2"):
        _mysql_write(tmp_path, my_conn, source, table="d", primary_key="id")
    with pytest.raises(
        StepError, match=r"column 'n' at row with id=1 \(1\.20\) .* would round away"
    ):
        _mysql_write(tmp_path, my_conn, source, table="i", primary_key="id")
    assert mysql.sql(name, "SELECT count(*) FROM d") == [(0,)]
    assert mysql.sql(name, "SELECT count(*) FROM i") == [(0,)]

    _mysql_write(tmp_path, my_conn, source.slice(0, 1), table="d")
    assert mysql.sql(name, "SELECT id, n FROM d") == [(1, Decimal("1.20"))]


def test_postgres_numeric_text_is_not_rounded_into_a_narrower_numeric(tmp_path, dbs):
    from osiris.errors import StepError

    _, _, _, sb_conn, pg = dbs
    pg.execute("CREATE TABLE src (id int PRIMARY KEY, n numeric)")
    pg.execute("INSERT INTO src VALUES (1, 1.5), (2, 1.239)")
    pg.execute("CREATE TABLE dst (id int PRIMARY KEY, n numeric(10,2))")
    source = _sb_read(tmp_path, sb_conn, table="src", order="id.asc")

    with pytest.raises(StepError, match=r"column 'n' input row 2: \(1\.239\) has more than 2"):
        _sb_write(tmp_path, sb_conn, source, table="dst")
    assert pg.execute("SELECT count(*) FROM dst").fetchone() == (0,)

    _sb_write(tmp_path, sb_conn, source.slice(0, 1), table="dst")
    assert pg.execute("SELECT n::text FROM dst").fetchall() == [("1.50",)]


def test_enum_arrays_read_as_lists_of_labels(tmp_path, dbs):
    _, _, _, sb_conn, pg = dbs
    pg.execute("CREATE TYPE mood AS ENUM ('ok', 'sad')")
    pg.execute("CREATE TABLE t (id int PRIMARY KEY, m mood[])")
    pg.execute("INSERT INTO t VALUES (1, '{ok,NULL,sad}'), (2, '{}'), (3, NULL)")
    back = _sb_read(tmp_path, sb_conn, table="t", order="id.asc")
    assert back.column("m").to_pylist() == [["ok", None, "sad"], [], None]
    query = _sb_read(tmp_path, sb_conn, query="SELECT m FROM t ORDER BY id")
    assert query.column("m").to_pylist() == [["ok", None, "sad"], [], None]


def test_nul_in_mysql_text_names_column_and_row(tmp_path, dbs):
    from osiris.errors import StepError

    mysql, name, my_conn, sb_conn, pg = dbs
    # BIGINT UNSIGNED makes the COPY use CSV, whose error named the row but not the column.
    mysql.sql(name, "CREATE TABLE t (id INT PRIMARY KEY, u BIGINT UNSIGNED, s TEXT)")
    mysql.sql(name, "INSERT INTO t VALUES (1, 1, 'ok'), (2, 2, 'ok'), (3, 3, CONCAT('a', CHAR(0)))")
    source = _mysql_read(tmp_path, my_conn, table="t").sort_by("id")
    assert source.column("s")[2].as_py() == "a\x00"
    with pytest.raises(StepError, match=r"column 's' input row 3 holds a NUL character"):
        _sb_write(tmp_path, sb_conn, source, table="t", create_if_missing=True)
    assert pg.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_mysql_time_through_postgres_interval_and_back(tmp_path, dbs):
    from osiris.errors import StepError

    mysql, name, my_conn, sb_conn, pg = dbs
    mysql.sql(name, "CREATE TABLE t (id INT PRIMARY KEY, tm TIME(6), t0 TIME)")
    mysql.sql(
        name,
        "INSERT INTO t VALUES (1, '-838:59:59', '-838:59:59'), (2, '838:59:59.999999', '12:00:00'),"
        " (3, '-00:00:00.000001', '00:00:01'), (4, NULL, NULL)",
    )
    source = _mysql_read(tmp_path, my_conn, table="t")
    _sb_write(tmp_path, sb_conn, source, table="t", create_if_missing=True, primary_key="id")
    back = _sb_read(tmp_path, sb_conn, table="t", order="id.asc")
    assert pa.types.is_interval(back.schema.field("tm").type)
    expected = [
        (1, "-838:59:59.000000", "-838:59:59"),
        (2, "838:59:59.999999", "12:00:00"),
        (3, "-00:00:00.000001", "00:00:01"),
        (4, None, None),
    ]

    _mysql_write(tmp_path, my_conn, back, table="created", create_table=True)  # TIME(6)
    created = "SELECT id, CAST(tm AS CHAR), CAST(t0 AS CHAR) FROM created ORDER BY id"
    assert [(i, a, b and b.removesuffix(".000000")) for i, a, b in mysql.sql(name, created)] == (
        expected
    )
    mysql.sql(name, "CREATE TABLE existing LIKE t")
    _mysql_write(tmp_path, my_conn, back, table="existing")
    existing = "SELECT id, CAST(tm AS CHAR), CAST(t0 AS CHAR) FROM existing ORDER BY id"
    assert mysql.sql(name, existing) == expected

    pg.execute("UPDATE t SET tm = '1 mon' WHERE id = 4")
    with pytest.raises(StepError, match=r"column 'tm' at row with id=4 has months"):
        _mysql_write(
            tmp_path,
            my_conn,
            _sb_read(tmp_path, sb_conn, table="t", order="id.asc"),
            table="existing",
            mode="replace",
            primary_key="id",
        )
    assert mysql.sql(name, existing) == expected
