"""mysql.writer on tables without transactions (MyISAM, Aria, MEMORY): refused up front where a
failure could not be rolled back, unless allow_non_transactional is set (issue 16)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris_driver_mysql.writer import MySQLWriter

pytestmark = pytest.mark.mysql

SCHEMA = pa.schema([("id", pa.int64()), ("code", pa.string())])


def _write(mysql_ctx, rows: list[tuple], **config):
    data = StepData.from_table(
        pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], SCHEMA)
    )
    ctx, recorded = mysql_ctx("write")
    MySQLWriter().run(
        step_id="write", config={"batch_size": 1, **config}, inputs={"df_src": data}, ctx=ctx
    )
    return recorded


@pytest.fixture(params=["MyISAM", "Aria", "MEMORY"])
def engine_table(request, mysql_exec):
    mysql_exec(
        f"CREATE TABLE t (id BIGINT PRIMARY KEY, code VARCHAR(3) NOT NULL) ENGINE={request.param}",
        "INSERT INTO t VALUES (1, 'one')",
    )
    return request.param, lambda: mysql_exec("SELECT * FROM t ORDER BY id")


@pytest.mark.parametrize(
    ("mode", "loses"),
    [
        ("append", "a failed append would leave part of its rows in the table"),
        ("upsert", "a failed upsert would leave the table partly merged"),
    ],
)
def test_append_and_upsert_are_refused_before_writing(mysql_ctx, engine_table, mode, loses):
    engine, rows = engine_table
    with pytest.raises(StepError) as err:
        _write(mysql_ctx, [(2, "two")], table="t", mode=mode, primary_key=["id"])
    assert str(err.value) == (
        f"Step 'write': table 't' is {engine}, which has no transactions: {loses}, so nothing"
        " was written. Convert it (ALTER TABLE t ENGINE=InnoDB), or set"
        " allow_non_transactional: true in the step's config to write anyway, accepting that a"
        " failed run can leave part of the rows."
    )
    assert rows() == [(1, "one")]


def test_replace_is_safe_on_any_engine(mysql_ctx, engine_table, mysql_exec):
    """The staging table is swapped in by one RENAME TABLE: a failure never touches the target."""
    _, rows = engine_table
    with pytest.raises(StepError, match="column 'code'"):
        _write(mysql_ctx, [(5, "abc"), (6, "too long")], table="t", mode="replace")
    assert rows() == [(1, "one")]
    assert [r[0] for r in mysql_exec("SHOW TABLES")] == ["t"]
    _write(mysql_ctx, [(5, "abc")], table="t", mode="replace")
    assert rows() == [(5, "abc")]


def test_with_the_flag_append_writes_and_a_failure_can_leave_part_of_the_rows(
    mysql_ctx, engine_table
):
    _, rows = engine_table
    config = {"table": "t", "mode": "append", "allow_non_transactional": True}
    recorded = _write(mysql_ctx, [(2, "two")], **config)
    assert recorded.metric("rows_written") == 1
    with pytest.raises(StepError, match="column 'code'"):
        _write(mysql_ctx, [(3, "abc"), (4, "too long")], **config)
    # what the docs warn about: the earlier row stays; the bad value is not stored cut to 'too'
    assert rows() == [(1, "one"), (2, "two"), (3, "abc")]


def test_with_the_flag_upsert_merges(mysql_ctx, engine_table):
    _, rows = engine_table
    _write(
        mysql_ctx, [(1, "ONE"), (2, "two")], table="t", mode="upsert", primary_key=["id"],
        allow_non_transactional=True,
    )  # fmt: skip
    assert rows() == [(1, "ONE"), (2, "two")]


def test_innodb_needs_no_flag(mysql_ctx, mysql_exec):
    mysql_exec("CREATE TABLE t (id BIGINT PRIMARY KEY, code VARCHAR(3)) ENGINE=InnoDB")
    _write(mysql_ctx, [(1, "a")], table="t", mode="append")
    _write(mysql_ctx, [(1, "b")], table="t", mode="upsert", primary_key=["id"])
    assert mysql_exec("SELECT * FROM t") == [(1, "b")]


def test_a_new_table_is_refused_when_the_default_engine_has_no_transactions(mysql_ctx, mysql_exec):
    ctx, _ = mysql_ctx("write")
    ctx.connection = {**ctx.connection}
    mysql_exec("SET GLOBAL default_storage_engine = 'MyISAM'")
    try:
        with pytest.raises(StepError, match=r"table 'n' would be created as MyISAM \(the server"):
            _write(mysql_ctx, [(1, "a")], table="n", mode="append", create_table=True)
    finally:
        mysql_exec("SET GLOBAL default_storage_engine = 'InnoDB'")
    assert mysql_exec("SHOW TABLES") == []


# -- dates beyond what DATE / DATETIME hold (issue 16: values at the edges) ---------------------


@pytest.mark.parametrize("bulk", [True, False], ids=["load-data", "insert"])
@pytest.mark.parametrize(
    ("ddl", "column", "shown"),
    [
        ("DATE", pa.array([0, -719_528], pa.date32()), "0000-01-01"),
        ("DATE", pa.array([0, 2_932_897], pa.date32()), "10000-01-01"),
        (
            "DATETIME(6)",
            pa.array([0, -800_000 * 86_400], pa.timestamp("s")),
            "-0221-09-04 00:00:00",
        ),
        (None, pa.array([0, 2_932_897 * 86_400_000_000], pa.timestamp("us", tz="UTC")), None),
    ],
    ids=["year-0", "year-10000", "bc-datetime", "created-table"],
)
def test_dates_beyond_the_column_name_column_and_row(
    mysql_ctx, mysql_exec, monkeypatch, bulk, ddl, column, shown
):
    from osiris_driver_mysql import writer as writer_module

    if not bulk:
        monkeypatch.setattr(writer_module, "bulk_load_available", lambda cur: False)
    if ddl:
        mysql_exec(f"CREATE TABLE t (id INT, v {ddl})")
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "v": column})
    ctx, _ = mysql_ctx("write")
    with pytest.raises(StepError) as err:
        MySQLWriter().run(
            step_id="write",
            config={"table": "t", "create_table": ddl is None},
            inputs={"df_src": StepData.from_table(table)},
            ctx=ctx,
        )
    message = str(err.value)
    assert message.startswith("Step 'write': column 'v' at row 2 (")
    assert "is outside the years 1 to 9999 that a MySQL" in message
    if shown:
        assert f"({shown}" in message
    if ddl:
        assert mysql_exec("SELECT * FROM t") == []
