"""Verified loads into MariaDB: rows (and with ``verify: checksum`` every column) reconciled
before the commit or the table swap; the loads are broken with real MariaDB features (triggers,
a view that hides rows, a CHAR column that drops trailing spaces), and nothing is committed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_mysql.writer import MySQLWriter

pytestmark = pytest.mark.mysql

MODES = ["append", "replace", "upsert"]
OLD = [(1, "old", 1), (2, "old", 2)]


def _data(first: int = 1, n: int = 10) -> pa.Table:
    ids = list(range(first, first + n))
    return pa.table(
        {"id": pa.array(ids, pa.int64()), "code": [f"c{i}" for i in ids],
         "qty": pa.array(ids, pa.int32())}
    )  # fmt: skip


def _write(tmp_path, db, table, run_verify=None, **config):
    """``run_verify`` is the run's --verify; ``verify=`` in ``config`` the step's own."""
    ctx, rec = make_context(tmp_path, step_id="w", connection=db, verify=run_verify)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))
    MySQLWriter().run(
        step_id="w", config={"table": "t", "primary_key": "id", "batch_size": 4, **config},
        inputs={"df_u": StepData.from_reader(reader)}, ctx=ctx,
    )  # fmt: skip
    return rec


@pytest.fixture
def t(mysql_exec):
    mysql_exec(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, code VARCHAR(8), qty INT)",
        "INSERT INTO t VALUES (1, 'old', 1), (2, 'old', 2)",
    )
    return lambda: mysql_exec("SELECT id, code, qty FROM t ORDER BY id")


def _new(mode: str) -> pa.Table:
    return _data(3, 8) if mode == "append" else _data()


def _tables(mysql_exec) -> list[str]:
    return sorted(r[0] for r in mysql_exec("SHOW FULL TABLES"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("verify", ["count", "checksum"])
def test_rows_verified_equals_rows_written(tmp_path, mysql_test_db, t, mode, verify):
    data = _new(mode)
    rec = _write(tmp_path, mysql_test_db, data, mode=mode, verify=verify)
    assert rec.metric("rows_verified") == rec.metric("rows_written") == data.num_rows
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event["method"] == verify and event["rows"] == data.num_rows
    if verify == "checksum":
        assert event["columns"] == ["id", "code", "qty"] and event["unchecked"] == {}
    kept = OLD if mode == "append" else []
    assert t() == kept + [(i, f"c{i}", i) for i in range(len(kept) + 1, 11)]


def test_upsert_with_a_trigger_that_merges_rows_fails_the_count(
    tmp_path, mysql_test_db, t, mysql_exec
):
    """A BEFORE INSERT trigger that rewrites the key folds several input rows into one."""
    mysql_exec(
        "CREATE TRIGGER fold BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id DIV 4 + 100"
    )
    with pytest.raises(StepError, match=r"received 10 row\(s\) but the keys of this load found"
                       r" in the table after the merge number 2; nothing was committed"):  # fmt: skip
        _write(tmp_path, mysql_test_db, _data(), mode="upsert")
    assert t() == OLD
    assert _tables(mysql_exec) == ["t"]


def test_append_with_a_trigger_that_makes_duplicates_fails(tmp_path, mysql_test_db, t, mysql_exec):
    """``LOAD DATA LOCAL`` skips duplicate keys with a warning: refused, nothing committed."""
    mysql_exec("CREATE TRIGGER dup BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id DIV 4 + 100")
    with pytest.raises(StepError, match="Duplicate entry"):
        _write(tmp_path, mysql_test_db, _data(3, 8), mode="append")
    assert t() == OLD


def test_append_into_a_view_that_hides_rows_fails_the_checksum_count(
    tmp_path, mysql_test_db, mysql_exec
):
    """The server inserts every row (its count is right) but the view shows only some: the
    table's growth inside the load's snapshot is what proves it."""
    mysql_exec(
        "CREATE TABLE base (id BIGINT PRIMARY KEY, code VARCHAR(8), qty INT)",
        "CREATE VIEW t AS SELECT * FROM base WHERE qty < 6",
    )
    _write(tmp_path, mysql_test_db, _data(), mode="append")  # the server's count passes
    mysql_exec("DELETE FROM base")
    with pytest.raises(StepError, match=r"received 10 row\(s\) but the table grew by 5"):
        _write(tmp_path, mysql_test_db, _data(), mode="append", verify="checksum")
    assert mysql_exec("SELECT COUNT(*) FROM base") == [(0,)]


@pytest.mark.parametrize("mode", ["append", "upsert"])
@pytest.mark.parametrize("how", ["config", "run"])
def test_a_trigger_that_changes_values_fails_the_checksum(
    tmp_path, mysql_test_db, t, mysql_exec, mode, how
):
    mysql_exec(
        "CREATE TRIGGER bump_i BEFORE INSERT ON t FOR EACH ROW"
        " SET NEW.qty = IF(NEW.id = 7, NEW.qty + 1, NEW.qty)",
        "CREATE TRIGGER bump_u BEFORE UPDATE ON t FOR EACH ROW"
        " SET NEW.qty = IF(NEW.id = 7, NEW.qty + 1, NEW.qty)",
    )
    config = {"verify": "checksum"} if how == "config" else {}
    run_verify = "checksum" if how == "run" else None
    with pytest.raises(StepError, match="the checksum of column 'qty' differs"):
        _write(tmp_path, mysql_test_db, _new(mode), run_verify, mode=mode, **config)
    assert t() == OLD


@pytest.mark.parametrize("mode", MODES)
def test_a_char_column_that_drops_trailing_spaces_fails_the_checksum(
    tmp_path, mysql_test_db, mysql_exec, mode
):
    mysql_exec("CREATE TABLE t (id BIGINT PRIMARY KEY, code CHAR(4), qty INT)",
               "INSERT INTO t VALUES (1, 'old', 1)")  # fmt: skip
    data = pa.table({"id": pa.array([5, 6], pa.int64()), "code": ["abcd", "ab  "],
                     "qty": pa.array([1, 2], pa.int32())})  # fmt: skip
    _write(tmp_path, mysql_test_db, data, mode=mode)  # the count passes
    mysql_exec("DELETE FROM t", "INSERT INTO t VALUES (1, 'old', 1)")
    with pytest.raises(StepError, match="the checksum of column 'code' differs"):
        _write(tmp_path, mysql_test_db, data, mode=mode, verify="checksum")
    assert mysql_exec("SELECT id, code, qty FROM t") == [(1, "old", 1)]
    assert _tables(mysql_exec) == ["t"]


def test_every_type_checksums_with_edge_values(tmp_path, mysql_test_db, mysql_exec):
    utc = dt.UTC
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "i1": pa.array([-128, 127, None], pa.int8()),
            "u8": pa.array([0, 2**64 - 1, None], pa.uint64()),
            "n": pa.array([Decimal("-9999999999.99"), Decimal("0.00"), None], pa.decimal128(12, 2)),
            "nbig": pa.array(
                [Decimal("1e-30"), Decimal("-" + "9" * 35 + "." + "9" * 30), None],
                pa.decimal256(65, 30),
            ),
            "r": pa.array([3.4028234663852886e38, 0.1, None], pa.float32()),
            "d": pa.array([1.7976931348623157e308, 5e-324, -2.5e-300], pa.float64()),
            "b": pa.array([True, False, None]),
            "dte": pa.array([dt.date(1000, 1, 1), dt.date(9999, 12, 31), None]),
            "ts": pa.array(
                [dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), None],
                pa.timestamp("us"),
            ),
            "tz": pa.array(
                [
                    dt.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=utc),
                    None,
                    dt.datetime(1970, 1, 2, tzinfo=utc),
                ],
                pa.timestamp("us", tz="Asia/Kolkata"),
            ),
            "t": pa.array(["", 'emoji 😀 tab\t nl\n quote" back\\slash', None]),
            "j": pa.array(['{"a": [1, 2.50]}', None, "[]"], pa.string()),
            "by": pa.array([b"\x00\xff", b"", None]),
        }
    )
    table = table.cast(
        table.schema.set(12, pa.field("j", pa.string(), metadata={b"osiris.type": b"json"}))
    )
    rec = _write(
        tmp_path, mysql_test_db, table, mode="replace", create_table=True, verify="checksum"
    )
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event["unchecked"] == {} and event["columns"] == table.column_names
    assert rec.metric("rows_verified") == 3


@pytest.mark.parametrize("mode", MODES)
def test_the_insert_path_is_verified_too(tmp_path, mysql_test_db, t, mysql_exec, monkeypatch, mode):
    """Without ``local_infile`` the rows go through INSERTs; their counts and checksums too."""
    from osiris_driver_mysql import writer as writer_module

    monkeypatch.setattr(writer_module, "bulk_load_available", lambda cur: False)
    data = _new(mode)
    rec = _write(tmp_path, mysql_test_db, data, mode=mode, verify="checksum")
    assert rec.metric("rows_verified") == data.num_rows
    if mode != "replace":  # a replace loads a staging table, which has no triggers
        mysql_exec("DELETE FROM t", "INSERT INTO t VALUES (1, 'old', 1), (2, 'old', 2)")
        mysql_exec("CREATE TRIGGER bump BEFORE INSERT ON t FOR EACH ROW SET NEW.qty = NEW.qty * 2")
        with pytest.raises(StepError, match="the checksum of column 'qty' differs"):
            _write(tmp_path, mysql_test_db, data, mode=mode, verify="checksum")
        assert t() == OLD
