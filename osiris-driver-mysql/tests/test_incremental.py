"""mysql.extractor with `incremental:`: every cursor type as a bound, table and query forms."""

from __future__ import annotations

import pytest
from osiris.errors import StepError
from osiris_driver_mysql.extractor import MySQLExtractor

pytestmark = pytest.mark.mysql

CURSORS = {  # column -> (type, the mark of row 2 as the host hands it, the mark after row 4)
    "big": ("integer", "18446744073709551602", "18446744073709551604"),
    "amount": ("decimal", "2.0000000002", "4.0000000004"),
    "day": ("date", "2026-01-02", "2026-01-04"),
    "local_ts": ("timestamp", "2026-01-01T02:00:00.000002", "2026-01-01T04:00:00.000004"),
    "utc_ts": ("timestamptz", "2026-01-01T02:00:00.000002+00:00",
               "2026-01-01T04:00:00.000004+00:00"),
    "yr": ("integer", "2002", "2004"),
}  # fmt: skip


@pytest.fixture
def rows(mysql_exec):
    mysql_exec(
        "CREATE TABLE t (id INT PRIMARY KEY, big BIGINT UNSIGNED NOT NULL, amount DECIMAL(30,10)"
        " NOT NULL, day DATE NOT NULL, local_ts DATETIME(6) NOT NULL, utc_ts TIMESTAMP(6) NOT"
        " NULL, yr YEAR NOT NULL, f FLOAT NOT NULL, maybe INT NULL)"
    )
    for i in range(1, 5):
        mysql_exec(
            f"INSERT INTO t VALUES ({i}, {18446744073709551600 + i}, {i}.{i:010d}, '2026-01-0{i}',"
            f" '2026-01-01 0{i}:00:00.00000{i}', '2026-01-01 0{i}:00:00.00000{i}', {2000 + i},"
            f" 16777215, {i if i > 1 else 'NULL'})"
        )
    return mysql_exec


def read(mysql_ctx, config, last=None):
    ctx, recorded = mysql_ctx("read_t")
    ctx.incremental = {"cursor": config["incremental"]["cursor"], "last": last}
    table = MySQLExtractor().run(step_id="read_t", config=config, inputs={}, ctx=ctx)["df"]
    return table.read_all(), dict(recorded.events)


@pytest.mark.parametrize("column", sorted(CURSORS))
@pytest.mark.parametrize("form", ["table", "query"])
def test_every_cursor_type_reads_past_the_mark(mysql_ctx, rows, column, form):
    kind, last, after = CURSORS[column]
    source = {"table": "t"} if form == "table" else {"query": "SELECT * FROM t ORDER BY id DESC"}
    config = {**source, "incremental": {"cursor": column}}
    table, events = read(mysql_ctx, config, {"type": kind, "value": last})
    assert table["id"].to_pylist() == [3, 4]  # in cursor order, whatever the query said
    assert table["f"].to_pylist() == [16777215.0, 16777215.0]  # FLOAT exact in the wrapper too
    assert events["incremental_start"] == {"step_id": "read_t", "cursor": column, "type": kind,
                                           "op": ">", "bound": last}  # fmt: skip
    assert events["incremental_mark"]["value"] == after


def test_first_run_initial_and_lookback(mysql_ctx, rows):
    table, events = read(mysql_ctx, {"table": "t", "incremental": {"cursor": "id"}})
    assert table.num_rows == 4 and events["incremental_mark"]["value"] == "4"
    config = {"table": "t", "where": "id <> 4", "incremental": {"cursor": "day",
              "initial": "2026-01-02"}}  # fmt: skip
    table, events = read(mysql_ctx, config)
    assert table["id"].to_pylist() == [2, 3] and events["incremental_start"]["op"] == ">="
    config = {"table": "t", "incremental": {"cursor": "local_ts", "lookback": "1 hours"}}
    table, _ = read(mysql_ctx, config, {"type": "timestamp", "value": CURSORS["local_ts"][1]})
    assert table["id"].to_pylist() == [2, 3, 4]  # >= 01:00:00.000002: row 1 stays out


def test_refusals_name_the_step_and_the_column(mysql_ctx, rows):
    with pytest.raises(StepError, match="'maybe': rows have NULL there"):
        read(mysql_ctx, {"table": "t", "incremental": {"cursor": "maybe"}})
    with pytest.raises(StepError, match="'f' cannot be a cursor: floats are approximate"):
        read(mysql_ctx, {"table": "t", "incremental": {"cursor": "f"}})
    with pytest.raises(StepError, match="'nope' is not in the result"):
        read(mysql_ctx, {"table": "t", "columns": ["id"], "incremental": {"cursor": "nope"}})
    with pytest.raises(StepError, match="'limit' cannot be combined with 'incremental'"):
        read(mysql_ctx, {"table": "t", "limit": 2, "incremental": {"cursor": "id"}})
    with pytest.raises(StepError, match="cannot have its own LIMIT"):
        read(mysql_ctx, {"query": "SELECT * FROM t LIMIT 2", "incremental": {"cursor": "id"}})
    with pytest.raises(StepError, match=r"Step 'read_t': incremental\.initial 'soon'"):
        read(mysql_ctx, {"table": "t", "incremental": {"cursor": "day", "initial": "soon"}})


def test_a_filtered_query_keeps_its_nulls_out_of_the_check(mysql_ctx, rows):
    """The NULL check runs over the query's result, not the table: a filtered query is fine."""
    config = {"query": "SELECT id, maybe FROM t WHERE maybe IS NOT NULL",
              "incremental": {"cursor": "MAYBE"}}  # fmt: skip
    table, events = read(mysql_ctx, config, {"type": "integer", "value": "2"})
    assert table.column_names == ["id", "maybe"] and table["id"].to_pylist() == [3, 4]
    assert events["incremental_mark"]["cursor"] == "maybe"
