"""supabase.extractor with `incremental:` over the database and over REST (real PostgreSQL)."""

from __future__ import annotations

import pytest
from osiris.errors import StepError
from osiris.testing import make_context
from osiris_driver_supabase.extractor import SupabaseExtractor

pytestmark = pytest.mark.postgres


@pytest.fixture
def events_table(sb_pg, sb_rest):
    sb_pg.execute(
        "CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL, amount numeric, note text)"
    )
    sb_pg.execute(
        "INSERT INTO ev SELECT i, timestamptz '2026-01-01 00:00:00.000001+00' + i * interval"
        " '1 hour', (i || '0000000000000000000000.5')::numeric, CASE WHEN i > 1 THEN 'n%' END"
        " FROM generate_series(1, 4) AS i"
    )
    return sb_pg


def read(tmp_path, connection, config, last=None):
    ctx, recorded = make_context(
        tmp_path, step_id="r", connection=connection,
        incremental={"cursor": config["incremental"]["cursor"], "last": last},
    )  # fmt: skip
    out = SupabaseExtractor().run(step_id="r", config=config, inputs={}, ctx=ctx)
    return out["df"].read_all(), dict(recorded.events)


def connections(sb_db_connection, sb_rest):
    return {"postgres": sb_db_connection, "rest": sb_rest.connection()}


@pytest.mark.parametrize("transport", ["postgres", "rest"])
@pytest.mark.parametrize(
    ("cursor", "last", "after"),
    [
        ("at", {"type": "timestamptz", "value": "2026-01-01T02:00:00.000001+00:00"},
         "2026-01-01T04:00:00.000001+00:00"),
        ("amount", {"type": "decimal", "value": "20000000000000000000000.5"},
         "40000000000000000000000.5"),
        ("id", {"type": "integer", "value": "2"}, "4"),
    ],
)  # fmt: skip
def test_table_reads_past_the_mark(
    tmp_path, events_table, sb_db_connection, sb_rest, transport, cursor, last, after
):
    connection = connections(sb_db_connection, sb_rest)[transport]
    config = {"table": "ev", "incremental": {"cursor": cursor}}
    table, events = read(tmp_path, connection, config, last)
    assert table["id"].to_pylist() == [3, 4]
    assert events["incremental_start"]["bound"] == last["value"]
    assert events["incremental_mark"] == {"step_id": "r", "cursor": cursor, "type": last["type"],
                                          "value": after, "rows": 2}  # fmt: skip


def test_a_query_with_percent_signs_and_a_lookback(tmp_path, events_table, sb_db_connection):
    config = {"query": "SELECT id, at, note FROM ev WHERE note LIKE 'n%' ORDER BY id DESC",
              "incremental": {"cursor": "at", "lookback": "1 hours"}}  # fmt: skip
    last = {"type": "timestamptz", "value": "2026-01-01T03:00:00.000001+00:00"}
    table, events = read(tmp_path, sb_db_connection, config, last)
    assert table["id"].to_pylist() == [2, 3, 4]  # >= 02:00: the lookback, in cursor order
    assert events["incremental_start"]["op"] == ">="
    first, _ = read(tmp_path, sb_db_connection, config)
    assert first["id"].to_pylist() == [2, 3, 4]  # no mark: no parameter, the % stays as it is


@pytest.mark.parametrize("transport", ["postgres", "rest"])
def test_nulls_and_conflicting_options_are_refused(
    tmp_path, events_table, sb_db_connection, sb_rest, transport
):
    connection = connections(sb_db_connection, sb_rest)[transport]
    events_table.execute("ALTER TABLE ev ADD COLUMN v int")
    events_table.execute("UPDATE ev SET v = id WHERE id > 1")
    with pytest.raises(StepError, match="Step 'r': incremental cursor column 'v': rows have NULL"):
        read(tmp_path, connection, {"table": "ev", "incremental": {"cursor": "v"}})
    with pytest.raises(StepError, match="'order' cannot be combined with 'incremental'"):
        read(tmp_path, connection, {"table": "ev", "order": "id.desc",
                                    "incremental": {"cursor": "id"}})  # fmt: skip
    with pytest.raises(StepError, match="'note' cannot be a cursor: text"):
        read(tmp_path, connection, {"table": "ev", "incremental": {"cursor": "note"}})


def test_rest_pages_stay_exact_while_rows_are_deleted_and_across_ties(tmp_path, sb_pg, sb_rest):
    """Offset pages would skip a row when one before it is deleted mid-read; keyset pages do not.
    Ties on the cursor (many rows per day) spill over page boundaries and are read once each."""
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, day date NOT NULL)")
    sb_pg.execute("INSERT INTO t SELECT i, date '2026-01-01' + i / 3 FROM generate_series(1, 11) i")
    sb_rest.server.max_rows = 2  # the server caps every page at 2 rows
    ctx, recorded = make_context(tmp_path, step_id="r", connection=sb_rest.connection(),
                                 incremental={"cursor": "day", "last": None})  # fmt: skip
    config = {"table": "t", "incremental": {"cursor": "day"}}
    reader = SupabaseExtractor().run(step_id="r", config=config, inputs={}, ctx=ctx)["df"]
    first = reader.read_next_batch()
    assert first["id"].to_pylist() == [1, 2]
    sb_pg.execute("DELETE FROM t WHERE id IN (1, 2)")  # rows already read leave the table
    rest = [i for batch in reader for i in batch["id"].to_pylist()]
    assert [1, 2, *rest] == list(range(1, 12))  # every row once, in (day, id) order
    assert dict(recorded.events)["incremental_mark"]["value"] == "2026-01-04"
