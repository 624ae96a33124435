"""Verified loads over the postgres transport: rows and (with ``verify: checksum``) every
column's content are reconciled inside the transaction; a mismatch fails and changes nothing.
The loads are broken with real PostgreSQL features: triggers that skip rows or change values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.writer import SupabaseWriter

pytestmark = pytest.mark.postgres

MODES = ["append", "replace", "upsert"]
OLD = [(1, "old", Decimal("1.00")), (2, "old", Decimal("2.00"))]


def _data(n: int = 10) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(1, n + 1), pa.int32()),
            "name": [f"n{i}" for i in range(n)],
            "amount": pa.array([Decimal(i) / 4 for i in range(n)], pa.decimal128(10, 2)),
        }
    )


def _write(tmp_path, conn, config, table, verify=None):
    ctx, rec = make_context(tmp_path, step_id="w", connection=conn, verify=verify)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))
    SupabaseWriter().run(
        step_id="w", config={"table": "t", **config}, inputs={"df_u": StepData.from_reader(reader)},
        ctx=ctx,
    )  # fmt: skip
    return rec


def _table(pg) -> None:
    pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(10,2))")
    pg.execute("INSERT INTO t VALUES (1, 'old', 1.00), (2, 'old', 2.00)")


def _rows(pg) -> list[tuple]:
    return pg.execute("SELECT id, name, amount FROM t ORDER BY id").fetchall()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("verify", ["count", "checksum"])
def test_rows_verified_equals_rows_written(tmp_path, sb_pg, sb_db_connection, mode, verify):
    _table(sb_pg)
    data = _data().slice(2) if mode == "append" else _data()
    rec = _write(tmp_path, sb_db_connection, {"write_mode": mode, "verify": verify}, data)
    assert rec.metric("rows_verified") == rec.metric("rows_written") == data.num_rows
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event["method"] == verify and event["rows"] == data.num_rows
    if verify == "checksum":
        assert event["columns"] == ["id", "name", "amount"] and event["unchecked"] == {}


@pytest.mark.parametrize("mode", MODES)
def test_a_trigger_that_skips_rows_fails_the_count(tmp_path, sb_pg, sb_db_connection, mode):
    _table(sb_pg)
    sb_pg.execute(
        "CREATE FUNCTION skip_odd() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.id % 2 = 1 AND NEW.id > 2 THEN RETURN NULL; END IF; RETURN NEW; END $$"
    )
    sb_pg.execute("CREATE TRIGGER skip BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION skip_odd()")
    data, left = (_data().slice(2), 4) if mode == "append" else (_data(), 6)
    message = rf"received {data.num_rows} row\(s\) but .* {left}; nothing was committed"
    with pytest.raises(StepError, match=message):
        _write(tmp_path, sb_db_connection, {"write_mode": mode, "primary_key": "id"}, data)
    assert _rows(sb_pg) == OLD


def test_an_after_trigger_that_deletes_rows_fails_the_checksum_count(
    tmp_path, sb_pg, sb_db_connection
):
    """COPY reports every row; only counting this transaction's rows in the table shows the
    loss."""
    _table(sb_pg)
    sb_pg.execute(
        "CREATE FUNCTION drop_it() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.id = 5 THEN EXECUTE format('DELETE FROM %I.%I WHERE id = 5',"
        " TG_TABLE_SCHEMA, TG_TABLE_NAME); END IF; RETURN NULL; END $$"
    )
    sb_pg.execute("CREATE TRIGGER d AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION drop_it()")
    with pytest.raises(StepError, match=r"received 8 row\(s\) but this load's rows in it number 7"):
        _write(tmp_path, sb_db_connection, {"verify": "checksum"}, _data().slice(2))
    assert _rows(sb_pg) == OLD


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["config", "run"])
def test_a_trigger_that_changes_values_fails_the_checksum(
    tmp_path, sb_pg, sb_db_connection, mode, how
):
    _table(sb_pg)
    sb_pg.execute(
        "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.id = 7 THEN NEW.amount := NEW.amount + 0.01; END IF; RETURN NEW; END $$"
    )
    sb_pg.execute(
        "CREATE TRIGGER b BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION bump()"
    )
    data = _data().slice(2) if mode == "append" else _data()
    config = {"write_mode": mode, "primary_key": "id"}
    _write(tmp_path, sb_db_connection, config, data)  # the count alone passes
    _rows_after_count = _rows(sb_pg)
    sb_pg.execute("DELETE FROM t")
    sb_pg.execute("INSERT INTO t VALUES (1, 'old', 1.00), (2, 'old', 2.00)")
    assert _rows_after_count != OLD
    config, verify = (
        ({**config, "verify": "checksum"}, None) if how == "config" else (config, "checksum")
    )
    with pytest.raises(StepError, match="the checksum of column 'amount' differs"):
        _write(tmp_path, sb_db_connection, config, data, verify)
    assert _rows(sb_pg) == OLD


def test_a_column_type_that_truncates_text_fails_the_checksum(tmp_path, sb_pg, sb_db_connection):
    """char(n) drops trailing spaces when read as text: 'ab  ' is stored as 'ab'."""
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, code char(4))")
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "code": ["abcd", "ab  "]})
    with pytest.raises(StepError, match="the checksum of column 'code' differs"):
        _write(tmp_path, sb_db_connection, {"verify": "checksum"}, data)
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_every_type_checksums_with_edge_values(tmp_path, sb_pg, sb_db_connection):
    utc = dt.UTC
    table = pa.table(
        {
            "i2": pa.array([-32768, 32767, None], pa.int16()),
            "i8": pa.array([-(2**63), 2**63 - 1, 0], pa.int64()),
            "n": pa.array([Decimal("-9999999999.99"), Decimal("0.00"), None], pa.decimal128(12, 2)),
            "nbig": pa.array(
                [Decimal("1e-20"), Decimal("-1" + "0" * 39), None], pa.decimal256(60, 20)
            ),
            "r": pa.array([3.4028234663852886e38, 0.1, None], pa.float32()),
            "d": pa.array([1.7976931348623157e308, 5e-324, -0.0], pa.float64()),
            "dn": pa.array([float("nan"), float("inf"), float("-inf")], pa.float64()),
            "b": pa.array([True, False, None]),
            "dte": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None]),
            "ts": pa.array(
                [dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), None],
                pa.timestamp("us"),
            ),
            "tz": pa.array(
                [
                    dt.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=utc),
                    None,
                    dt.datetime(1970, 1, 1, tzinfo=utc),
                ],
                pa.timestamp("us", tz="Asia/Kolkata"),
            ),
            "t": pa.array(["", 'emoji 😀 tab\t nl\n quote" comma,', None]),
            "by": pa.array([b"\x00\xff", b"", None]),
        }
    )
    rec = _write(
        tmp_path, sb_db_connection, {"verify": "checksum", "create_if_missing": True}, table
    )
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event["unchecked"] == {} and event["columns"] == table.column_names
    assert rec.metric("rows_verified") == 3


def test_checksum_over_rest_is_refused_before_writing(tmp_path, sb_rest):
    with pytest.raises(StepError, match="verify: checksum needs transport: postgres"):
        _write(tmp_path, sb_rest.connection(), {"verify": "checksum", "transport": "rest"}, _data())
    assert not [r for r in sb_rest.server.requests if r.method != "GET"]


@pytest.mark.parametrize("mode", MODES)
def test_rest_requests_are_reconciled_with_the_servers_count(tmp_path, sb_pg, sb_rest, mode):
    """Over REST each request commits on its own: the count the server reports for each one
    must be the rows sent, and a replace must leave exactly the keys sent."""
    _table(sb_pg)
    sb_pg.execute("GRANT ALL ON t TO service_role")
    data = _data().slice(2) if mode == "append" else _data()
    config = {"write_mode": mode, "primary_key": "id", "transport": "rest"}
    rec = _write(tmp_path, sb_rest.connection(), config, data)
    assert rec.metric("rows_verified") == rec.metric("rows_written") == data.num_rows
    sb_pg.execute(
        "CREATE FUNCTION skip_odd() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.id = 7 THEN RETURN NULL; END IF; RETURN NEW; END $$"
    )
    sb_pg.execute(
        "CREATE TRIGGER s BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION skip_odd()"
    )
    if mode == "append":
        sb_pg.execute("DELETE FROM t WHERE id > 2")
    with pytest.raises(StepError, match=r"sent 3 row\(s\) but the server wrote 2"):
        _write(tmp_path, sb_rest.connection(), config, data)
