"""The postgres transport through a real transaction pooler (PgBouncer on 6543, DISCARD ALL after
every transaction): what works against Supabase's Supavisor on port 6543 must work here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.connection import connect, settings_from
from osiris_driver_supabase.extractor import SupabaseExtractor
from osiris_driver_supabase.family import SupabaseFamily
from osiris_driver_supabase.writer import SupabaseWriter

pytestmark = pytest.mark.postgres

DATA = pa.table(
    {
        "id": pa.array(range(1, 26), pa.int64()),
        "amount": pa.array([Decimal(f"{i}.25") for i in range(1, 26)], pa.decimal128(12, 2)),
        "name": [f"n{i} 😀" if i % 5 else None for i in range(1, 26)],
        "at": pa.array([dt.datetime(2024, 1, 1, 0, 0, i) for i in range(25)], pa.timestamp("us")),
    }
)


def _input(table: pa.Table) -> dict[str, StepData]:
    batches = table.to_batches(max_chunksize=3)  # many COPY chunks, one transaction
    return {"df_up": StepData.from_reader(pa.RecordBatchReader.from_batches(table.schema, batches))}


def _pooled(dsn: str, schema: str) -> dict[str, str]:
    return {"db_url": dsn, "schema": schema}


def test_the_pooler_loses_session_state_between_transactions(transaction_pooler):
    """The fixture bites: psycopg's default auto-prepare fails here, as on Supavisor."""
    conn = psycopg.connect(transaction_pooler)
    try:
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            for i in range(10):
                conn.execute("SELECT %s::int", (i,)).fetchone()
                conn.commit()
    finally:
        conn.close()


def test_a_transaction_pooler_dsn_gets_connections_that_prepare_nothing(transaction_pooler):
    settings = settings_from({"db_url": transaction_pooler})
    assert settings.transaction_pooler
    with connect(settings) as conn:
        got = []
        for i in range(10):
            got.append(conn.execute("SELECT %s::int", (i,)).fetchone()[0])
            conn.commit()
    assert got == list(range(10))


def test_doctor_and_discover_through_the_pooler(transaction_pooler, sb_pg, sb_schema):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    sb_pg.execute("INSERT INTO t VALUES (1, 'a')")
    family = SupabaseFamily()
    result = family.doctor(_pooled(transaction_pooler, sb_schema))
    assert result.ok and "via the transaction pooler" in result.message
    found = family.discover(_pooled(transaction_pooler, sb_schema), samples=1)
    (table,) = found["tables"]
    assert table["name"] == "t" and table["primary_key"] == ["id"]
    assert table["samples"] == [{"id": 1, "v": "a"}]


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_writer_and_extractor_through_the_pooler(
    tmp_path, transaction_pooler, sb_pg, sb_schema, mode
):
    connection = _pooled(transaction_pooler, sb_schema)
    if mode != "append":  # replace and upsert meet an existing table with rows to replace/merge
        sb_pg.execute("CREATE TABLE t (id bigint PRIMARY KEY, amount numeric(12,2), name text,"
                      " at timestamp)")  # fmt: skip
        sb_pg.execute("INSERT INTO t VALUES (1, 0, 'old', now()), (99, 0, 'old', now())")
    ctx, rec = make_context(tmp_path, step_id="write", connection=connection)
    config = {"table": "t", "write_mode": mode, "primary_key": "id", "create_if_missing": True}
    SupabaseWriter().run(step_id="write", config=config, inputs=_input(DATA), ctx=ctx)
    assert rec.metric("rows_written") == 25

    expected = DATA.to_pylist()
    if mode == "upsert":
        expected.append({"id": 99, "amount": Decimal("0.00"), "name": "old", "at": None})
    rows = sb_pg.execute("SELECT id, amount, name, at FROM t ORDER BY id").fetchall()
    assert [r[:3] for r in rows] == [(e["id"], e["amount"], e["name"]) for e in expected]

    ctx, _ = make_context(tmp_path, step_id="read", connection=connection)
    for config in (
        {"table": "t", "batch_size": 4},
        {
            "query": "SELECT id, amount, name, at FROM t WHERE id <= 25 ORDER BY id",
            "batch_size": 4,
        },
    ):
        out = SupabaseExtractor().run(step_id="read", config=config, inputs={}, ctx=ctx)["df"]
        table = out.read_all().sort_by("id").slice(0, 25)
        assert table.select(["id", "amount", "name", "at"]).to_pylist() == DATA.to_pylist()
