"""Both transports refuse sub-microsecond values (PostgreSQL would drop the digits), naming the
column and the input row, and write nanosecond columns that hold whole microseconds exactly."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from osiris.errors import OsirisError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.writer import SupabaseWriter

pytestmark = pytest.mark.postgres

MDN = pa.month_day_nano_interval()
COLUMNS = {  # name: (pg type, arrow type, exact value, value with nanoseconds)
    "ts": ("timestamp", pa.timestamp("ns"), 1_000_001_000, 1_000_001_001),
    "tm": ("time", pa.time64("ns"), 3_000_000, 3_000_500),
    "du": ("interval", pa.duration("ns"), 2_000, 2_001),
    "iv": ("interval", MDN, (1, 2, 3_000), (1, 2, 3_001)),
}


def _connection(transport, sb_rest, sb_db_connection):
    return sb_rest.connection() if transport == "rest" else sb_db_connection


def _write_table(tmp_path, connection, table: pa.Table) -> None:
    """Write ``table`` into ``t`` one row per batch (a bad value arrives in a later batch)."""
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1))
    ctx, _ = make_context(tmp_path, step_id="w", connection=connection)
    SupabaseWriter().run(
        step_id="w",
        config={"table": "t", "retry_backoff_s": 0},
        inputs={"df_up": StepData.from_reader(reader)},
        ctx=ctx,
    )


def _write(tmp_path, connection, column, values):
    _, typ, _, _ = COLUMNS[column]
    ids = pa.array(range(1, len(values) + 1), pa.int32())
    _write_table(tmp_path, connection, pa.table({"id": ids, column: pa.array(values, typ)}))


@pytest.mark.parametrize("transport", ["postgres", "rest"])
@pytest.mark.parametrize("column", COLUMNS)
def test_sub_microsecond_values_are_refused_with_column_and_row(
    tmp_path, sb_pg, sb_rest, sb_db_connection, transport, column
):
    pg_type, _, exact, inexact = COLUMNS[column]
    sb_pg.execute(f"CREATE TABLE t (id int PRIMARY KEY, {column} {pg_type})")
    connection = _connection(transport, sb_rest, sb_db_connection)
    with pytest.raises(OsirisError) as err:
        _write(tmp_path, connection, column, [exact, inexact])
    message = str(err.value)
    assert f"Column '{column}' row 2" in message and "nanoseconds" in message
    if transport == "postgres":  # one transaction: nothing was written
        assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 0


@pytest.mark.parametrize("transport", ["postgres", "rest"])
def test_whole_microseconds_in_nanosecond_columns_are_written_exactly(
    tmp_path, sb_pg, sb_rest, sb_db_connection, transport
):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, ts timestamp, tm time, du interval)")
    connection = _connection(transport, sb_rest, sb_db_connection)
    table = pa.table(
        {
            "id": pa.array([1], pa.int32()),
            "ts": pa.array([1_000_001_000], pa.timestamp("ns")),
            "tm": pa.array([3_000_000], pa.time64("ns")),
            "du": pa.array([2_000], pa.duration("ns")),
        }
    )
    _write_table(tmp_path, connection, table)
    assert sb_pg.execute("SELECT ts, tm, du FROM t").fetchone() == (
        dt.datetime(1970, 1, 1, 0, 0, 1, 1),
        dt.time(0, 0, 0, 3000),
        dt.timedelta(microseconds=2),
    )
