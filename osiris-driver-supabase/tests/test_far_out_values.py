"""Dates and timestamps beyond Python's years 1-9999 (BC, year 10000+, ±infinity) travel exactly
PostgreSQL -> PostgreSQL and through Parquet; what Arrow cannot hold names column and row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from osiris.errors import OsirisError, StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.extractor import SupabaseExtractor
from osiris_driver_supabase.temporal import civil_from_days, days_from_civil
from osiris_driver_supabase.writer import SupabaseWriter

pytestmark = pytest.mark.postgres

VALUES = [
    ("'4713-11-24 BC'", "'4713-11-24 00:00:00 BC'"),
    ("'0044-03-15 BC'", "'0044-03-15 12:30:00.25 BC'"),
    ("'0001-12-31 BC'", "'0001-12-31 23:59:59.999999 BC'"),
    ("'0001-01-01'", "'0001-01-01 00:00:00'"),
    ("'2024-02-29'", "'2024-02-29 10:00:00.5'"),
    ("'9999-12-31'", "'9999-12-31 23:59:59.999999'"),
    ("'10000-01-01'", "'10000-01-01 00:00:00'"),
    ("'5874897-12-31'", "'294246-12-31 23:59:59.999999'"),
    ("'infinity'", "'infinity'"),
    ("'-infinity'", "'-infinity'"),
    ("NULL", "NULL"),
]
DDL = "CREATE TABLE {name} (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz)"


def _fill(sb_pg) -> list[tuple]:
    sb_pg.execute(DDL.format(name="far"))
    for i, (d, ts) in enumerate(VALUES):
        sb_pg.execute(f"INSERT INTO far VALUES ({i}, {d}, {ts}, {ts})")
    return _texts(sb_pg, "far")


def _texts(sb_pg, name: str) -> list[tuple]:
    return sb_pg.execute(
        f"SELECT id, d::text, ts::text, tz::text FROM {name} ORDER BY id"
    ).fetchall()


def _read(tmp_path, conn, query: str) -> pa.Table:
    ctx, _ = make_context(tmp_path, step_id="read", connection=conn)
    config = {"query": query, "batch_size": 3}
    return (
        SupabaseExtractor().run(step_id="read", config=config, inputs={}, ctx=ctx)["df"].read_all()
    )


def _write(tmp_path, conn, table: pa.Table, name: str, **config) -> None:
    ctx, _ = make_context(tmp_path, step_id="write", connection=conn)
    SupabaseWriter().run(
        step_id="write",
        config={"table": name, "mode": "append", **config},
        inputs={"df_up": StepData.from_table(table)},
        ctx=ctx,
    )


def test_days_from_civil_matches_arrow():
    for year, month, day in [(1970, 1, 1), (0, 1, 1), (-1, 12, 31), (-4712, 11, 24), (10000, 3, 1)]:
        text = pa.scalar(days_from_civil(year, month, day), pa.date32()).cast(pa.string()).as_py()
        assert text == f"{'-' if year < 0 else ''}{abs(year):04d}-{month:02d}-{day:02d}"
    for days in [*range(-800_000, 3_000_000, 997), -(2**31), 2**31 - 1]:
        assert days_from_civil(*civil_from_days(days)) == days


@pytest.mark.parametrize("via_parquet", [False, True], ids=["pg-pg", "pg-parquet-pg"])
def test_far_out_dates_and_timestamps_travel_exactly(
    tmp_path, sb_pg, sb_db_connection, via_parquet
):
    source = _fill(sb_pg)
    table = _read(tmp_path, sb_db_connection, "SELECT * FROM far ORDER BY id")
    assert table.schema.field("d").type == pa.date32()
    assert table.schema.field("tz").type == pa.timestamp("us", tz="UTC")
    # 1 BC is astronomical year 0, as Arrow prints it
    assert table.column("d")[2].cast(pa.string()).as_py() == "0000-12-31"
    assert table.column("ts")[1].cast(pa.string()).as_py() == "-0043-03-15 12:30:00.250000"
    assert table.column("d")[8].cast(pa.int32()).as_py() == 2**31 - 1  # +infinity
    assert table.column("ts")[9].cast(pa.int64()).as_py() == -(2**63 - 1)  # -infinity
    if via_parquet:
        pq.write_table(table, tmp_path / "far.parquet")
        table = pq.read_table(tmp_path / "far.parquet")
    sb_pg.execute(DDL.format(name="copy"))
    _write(tmp_path, sb_db_connection, table, "copy")
    assert _texts(sb_pg, "copy") == source


def test_a_timestamp_beyond_arrow_names_column_and_row(tmp_path, sb_pg, sb_db_connection):
    sb_pg.execute("CREATE TABLE late (id int, ts timestamp)")
    sb_pg.execute("INSERT INTO late VALUES (1, '2024-01-01'), (2, '294270-01-01 00:00:00')")
    with pytest.raises(StepError) as err:
        _read(tmp_path, sb_db_connection, "SELECT ts FROM late ORDER BY id")
    assert str(err.value).startswith(
        "Step 'read': column 'ts' row 2: '294270-01-01 00:00:00' is beyond the range of"
        " timestamp[us]"
    )


def test_far_out_values_through_csv_copy(tmp_path, sb_pg, sb_db_connection):
    source = _fill(sb_pg)
    table = _read(tmp_path, sb_db_connection, "SELECT * FROM far ORDER BY id")
    sb_pg.execute(DDL.format(name="copy"))
    _write(tmp_path, sb_db_connection, table, "copy", copy_format="csv")
    assert _texts(sb_pg, "copy") == source


def test_infinity_is_infinite_in_duckdb_too(tmp_path, sb_pg, sb_db_connection):
    """±infinity are DuckDB's own spelling, so a transform sees them as infinite."""
    from osiris.builtin.duckdb_processor import DuckDBProcessor

    _fill(sb_pg)
    table = _read(tmp_path, sb_db_connection, "SELECT id, d, tz FROM far WHERE id >= 8")
    ctx, _ = make_context(tmp_path, step_id="t")
    query = "SELECT id, isinf(d) AS d_inf, CAST(tz AS VARCHAR) AS tz FROM input_df ORDER BY id"
    out = (
        DuckDBProcessor()
        .run(
            step_id="t",
            config={"query": query},
            inputs={"df_r": StepData.from_table(table)},
            ctx=ctx,
        )["df"]
        .read_all()
    )
    assert out.to_pylist() == [
        {"id": 8, "d_inf": True, "tz": "infinity"},
        {"id": 9, "d_inf": True, "tz": "-infinity"},
        {"id": 10, "d_inf": None, "tz": None},
    ]


def test_the_rest_transport_names_column_and_row_for_far_out_values(tmp_path, sb_pg, sb_rest):
    """REST's JSON goes through Python dates (years 1-9999): a clear error, never a traceback."""
    sb_pg.execute("CREATE TABLE far (id int PRIMARY KEY, d date)")
    sb_pg.execute("INSERT INTO far VALUES (1, '2024-01-01'), (2, '0044-03-15 BC')")
    ctx, _ = make_context(tmp_path, step_id="read", connection=sb_rest.connection())
    with pytest.raises(StepError) as err:
        SupabaseExtractor().run(
            step_id="read", config={"table": "far", "order": "id.asc"}, inputs={}, ctx=ctx
        )["df"].read_all()
    assert str(err.value).startswith(
        "Step 'read': column 'd' row 2: '0044-03-15 BC' is BC, after the year 9999 or infinite"
    )
    sb_pg.execute("CREATE TABLE dst (id int PRIMARY KEY, d date)")
    table = pa.table(
        {"id": pa.array([1, 2], pa.int32()), "d": pa.array([0, -800_000], pa.date32())}
    )
    with pytest.raises(OsirisError) as err:  # as the REST writer's other refusals
        _write(tmp_path, sb_rest.connection(), table, "dst", retry_backoff_s=0)
    assert "Column 'd' row 2: -0221-09-04 is outside the years 1 to 9999" in str(err.value)
    assert sb_pg.execute("SELECT count(*) FROM dst").fetchone() == (0,)
