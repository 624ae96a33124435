"""mysql.writer: modes, create_table, and a failure at any batch leaving the target unchanged."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris_driver_mysql import writer as writer_module
from osiris_driver_mysql.writer import MySQLWriter

pytestmark = pytest.mark.mysql

SCHEMA = pa.schema([("id", pa.int64()), ("code", pa.string()), ("qty", pa.int32())])


def batches(*chunks: list[tuple]) -> StepData:
    """A live stream of several batches, like an upstream extractor produces."""
    arrays = [
        pa.RecordBatch.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in c], SCHEMA)
        for c in chunks
    ]
    return StepData.from_reader(pa.RecordBatchReader.from_batches(SCHEMA, iter(arrays)))


def write(mysql_ctx, data: StepData, **config):
    ctx, recorded = mysql_ctx("write")
    MySQLWriter().run(step_id="write", config={"batch_size": 2, **config},
                      inputs={"df_src": data}, ctx=ctx)  # fmt: skip
    return recorded


@pytest.fixture
def target(mysql_exec):
    mysql_exec(
        "CREATE TABLE target (id BIGINT PRIMARY KEY, code VARCHAR(5) NOT NULL, qty INT NULL)",
        "INSERT INTO target VALUES (1, 'one', 10), (2, 'two', 20)",
    )
    return lambda: mysql_exec("SELECT * FROM target ORDER BY id")


def leftover_tables(mysql_exec) -> list[str]:
    return [r[0] for r in mysql_exec("SHOW TABLES") if r[0] != "target"]


def test_append_commits_everything(mysql_ctx, target):
    recorded = write(mysql_ctx, batches([(3, "c", 1), (4, "d", None)], [(5, "e", 5)]),
                     table="target", mode="append")  # fmt: skip
    assert target() == [(1, "one", 10), (2, "two", 20), (3, "c", 1), (4, "d", None), (5, "e", 5)]
    assert recorded.metric("rows_written") == 3


def test_replace_swaps_the_table(mysql_ctx, target, mysql_exec):
    write(mysql_ctx, batches([(7, "x", 1)], [(8, "y", 2)]), table="target", mode="replace")
    assert target() == [(7, "x", 1), (8, "y", 2)]
    assert leftover_tables(mysql_exec) == []
    ddl = mysql_exec("SHOW CREATE TABLE target")[0][1]
    assert "varchar(5)" in ddl and "PRIMARY KEY" in ddl


def test_upsert_updates_and_inserts(mysql_ctx, target, mysql_exec):
    write(mysql_ctx, batches([(2, "TWO", None)], [(3, "new", 3)]), table="target",
          mode="upsert", upsert_keys=["id"])  # fmt: skip
    assert target() == [(1, "one", 10), (2, "TWO", None), (3, "new", 3)]
    assert leftover_tables(mysql_exec) == []


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [((9, "too long", 1), "code"), ((9, None, 1), "code"), ((9, "ok", 1), "id")],
    ids=["too-long", "not-null", "duplicate-key"],
)
def test_failure_in_a_later_batch_leaves_target_unchanged(
    mysql_ctx, target, mysql_exec, mode, bad_row, problem
):
    before = target()
    rows = [[(10, "a", 1), (11, "b", 2)], [(12, "c", 3), (13, "d", 4)], [(14, "e", 5), bad_row]]
    if problem == "id":
        rows[2] = [(14, "e", 5), (14, "dup", 6)]
    with pytest.raises(StepError) as info:
        write(mysql_ctx, batches(*rows), table="target", mode=mode, primary_key=["id"])
    message = str(info.value)
    assert f"'{problem}'" in message or "Duplicate" in message, message
    assert "nothing was written" in message or "Duplicate" in message
    assert target() == before
    assert leftover_tables(mysql_exec) == []


def test_error_names_column_and_row_key(mysql_ctx, target):
    with pytest.raises(StepError, match=r"column 'code' at row with id=21"):
        write(mysql_ctx, batches([(20, "a", 1)], [(21, "toolong", 1)]), table="target",
              mode="replace", primary_key="id")  # fmt: skip


def test_create_table_from_arrow_schema(mysql_ctx, mysql_exec):
    write(mysql_ctx, batches([(1, "é🎬", None)]), table="fresh", mode="append",
          create_table=True, primary_key="id")  # fmt: skip
    assert mysql_exec("SELECT * FROM fresh") == [(1, "é🎬", None)]
    ddl = mysql_exec("SHOW CREATE TABLE fresh")[0][1]
    assert "`id` bigint(20) NOT NULL" in ddl and "PRIMARY KEY (`id`)" in ddl
    assert "`code` longtext" in ddl and "`qty` int(11)" in ddl


def test_missing_table_without_create_table_is_an_error(mysql_ctx, mysql_test_db):
    with pytest.raises(StepError, match=r"does not exist.*create_table"):
        write(mysql_ctx, batches([(1, "a", 1)]), table="missing")


def test_unknown_input_column_is_named(mysql_ctx, mysql_exec):
    mysql_exec("CREATE TABLE narrow (id BIGINT PRIMARY KEY)")
    with pytest.raises(StepError, match=r"\['code', 'qty'\].*not in table 'narrow'"):
        write(mysql_ctx, batches([(1, "a", 1)]), table="narrow")


def test_upsert_needs_keys_that_are_unique(mysql_ctx, target):
    with pytest.raises(StepError, match="needs 'primary_key'"):
        write(mysql_ctx, batches([(1, "a", 1)]), table="target", mode="upsert")
    with pytest.raises(StepError, match="not the primary key or a unique key"):
        write(mysql_ctx, batches([(1, "a", 1)]), table="target", mode="upsert",
              primary_key=["code"])  # fmt: skip


@pytest.mark.parametrize("table", ["bad name", "t;drop", "a.b.c", "`x`", ""])
def test_table_names_are_validated(mysql_ctx, mysql_test_db, table):
    with pytest.raises(StepError, match="not a valid name"):
        write(mysql_ctx, batches([(1, "a", 1)]), table=table)


def test_values_never_enter_sql(mysql_ctx, target):
    nasty = "');--"
    write(mysql_ctx, batches([(30, nasty, 1)]), table="target", mode="append")
    assert (30, nasty, 1) in target()


def test_insert_path_without_local_infile(mysql_ctx, target, monkeypatch):
    monkeypatch.setattr(writer_module, "bulk_load_available", lambda cur: False)
    write(mysql_ctx, batches([(3, "c", None)], [(4, "d", 4)]), table="target", mode="upsert",
          primary_key="id")  # fmt: skip
    assert target()[2:] == [(3, "c", None), (4, "d", 4)]
    before = target()
    with pytest.raises(StepError):
        write(mysql_ctx, batches([(5, "e", 1)], [(6, "toolong", 1)]), table="target",
              mode="append")  # fmt: skip
    assert target() == before


def test_nan_is_refused_with_column_and_row(mysql_ctx, mysql_exec):
    mysql_exec("CREATE TABLE floats (id INT PRIMARY KEY, x DOUBLE)")
    schema = pa.schema([("id", pa.int32()), ("x", pa.float64())])
    table = pa.table({"id": [1, 2], "x": [1.5, float("nan")]}, schema=schema)
    ctx, _ = mysql_ctx("write")
    with pytest.raises(StepError, match=r"column 'x' at row with id=2 is NaN"):
        MySQLWriter().run(step_id="write", config={"table": "floats", "primary_key": "id"},
                          inputs={"df_src": StepData.from_table(table)}, ctx=ctx)  # fmt: skip
    assert mysql_exec("SELECT COUNT(*) FROM floats") == [(0,)]


def test_nested_input_column_is_refused_by_name(mysql_ctx, mysql_test_db):
    table = pa.table({"id": [1], "tags": [["a", "b"]]})
    ctx, _ = mysql_ctx("write")
    with pytest.raises(StepError, match=r"cannot write column 'tags'.*list"):
        MySQLWriter().run(step_id="write", config={"table": "t", "create_table": True},
                          inputs={"df_src": StepData.from_table(table)}, ctx=ctx)  # fmt: skip


def test_text_reaches_a_latin1_column_as_characters(mysql_ctx, mysql_exec):
    mysql_exec("CREATE TABLE legacy (id BIGINT PRIMARY KEY, code VARCHAR(5) CHARACTER SET latin1,"
               " qty INT)")  # fmt: skip
    write(mysql_ctx, batches([(1, "é", 1)]), table="legacy")
    assert mysql_exec("SELECT code, HEX(code) FROM legacy") == [("é", "E9")]


def test_character_the_column_cannot_hold_names_column_and_row(mysql_ctx, mysql_exec):
    mysql_exec("CREATE TABLE legacy (id BIGINT PRIMARY KEY, code VARCHAR(5) CHARACTER SET latin1,"
               " qty INT)")  # fmt: skip
    with pytest.raises(StepError, match=r"column 'code' at row with id=2 was rejected"):
        write(mysql_ctx, batches([(1, "a", 1), (2, "🎬", 2)]), table="legacy", primary_key="id")
    assert mysql_exec("SELECT COUNT(*) FROM legacy") == [(0,)]


def test_upsert_keys_must_be_in_the_input(mysql_ctx, mysql_exec):
    mysql_exec(
        "CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(5))",
        "INSERT INTO auto (code) VALUES ('one'), ('two')",
    )
    table = pa.table({"code": ["ONE", "TWO"]})
    ctx, _ = mysql_ctx("write")
    with pytest.raises(StepError, match=r"upsert key column\(s\) \['id'\] are not in the input"):
        MySQLWriter().run(step_id="write", config={"table": "auto", "mode": "upsert",
                          "primary_key": "id"}, inputs={"df_src": StepData.from_table(table)},
                          ctx=ctx)  # fmt: skip
    assert mysql_exec("SELECT * FROM auto ORDER BY id") == [(1, "one"), (2, "two")]


@pytest.mark.parametrize("bulk", [True, False], ids=["load-data", "insert"])
def test_nanoseconds_are_refused_on_both_paths(mysql_ctx, mysql_exec, monkeypatch, bulk):
    if not bulk:
        monkeypatch.setattr(writer_module, "bulk_load_available", lambda cur: False)
    mysql_exec("CREATE TABLE stamps (id INT PRIMARY KEY, ts DATETIME(6))")
    table = pa.table({"id": pa.array([1], pa.int32()),
                      "ts": pa.array([1_700_000_000_000_000_001], pa.timestamp("ns"))})  # fmt: skip
    ctx, _ = mysql_ctx("write")
    with pytest.raises(
        StepError, match=r"column 'ts' at row with id=1 \(.*\) is more precise than the column"
    ):
        MySQLWriter().run(step_id="write", config={"table": "stamps", "primary_key": "id"},
                          inputs={"df_src": StepData.from_table(table)}, ctx=ctx)  # fmt: skip
    assert mysql_exec("SELECT COUNT(*) FROM stamps") == [(0,)]


PRECISE = {  # column DDL: (arrow values of a column that fits, arrow values with one that does not)
    "d DECIMAL(10,2)": (
        pa.array([Decimal("1.2300"), None, Decimal("-7.5000")], pa.decimal128(12, 4)),
        pa.array([Decimal("1.2300"), Decimal("1.2345"), None], pa.decimal128(12, 4)),
    ),
    "d DECIMAL(10,2) ": (  # floats are written as their shortest text
        pa.array([0.1, 2.5, None], pa.float64()),
        pa.array([0.1, 0.125, None], pa.float64()),
    ),
    "d FLOAT": (  # a double FLOAT keeps exactly, and one it would round
        pa.array([0.5, 1.25, None], pa.float64()),
        pa.array([0.5, 0.1, None], pa.float64()),
    ),
    "d INT": (
        pa.array([1.0, -3.0, None], pa.float64()),
        pa.array([1.0, 1.5, None], pa.float64()),
    ),
    "d DATETIME": (
        pa.array([1_000_000, 2_000_000, None], pa.timestamp("us")),
        pa.array([1_000_000, 2_500_000, None], pa.timestamp("us")),
    ),
    "d DATETIME(3)": (
        pa.array([1_001_000, None, 2_000_000], pa.timestamp("us")),
        pa.array([1_001_000, 1_001_001, None], pa.timestamp("us")),
    ),
    "d TIME": (
        pa.array([3_600_000_000, None, -1_000_000], pa.duration("us")),
        pa.array([3_600_000_000, 1_500_000, None], pa.duration("us")),
    ),
}


@pytest.mark.parametrize("bulk", [True, False], ids=["load-data", "insert"])
@pytest.mark.parametrize("ddl", PRECISE)
def test_values_the_column_would_round_are_refused(mysql_ctx, mysql_exec, monkeypatch, bulk, ddl):
    """MySQL rounds a too-precise value into its column (mostly without a warning): refuse it."""
    if not bulk:
        monkeypatch.setattr(writer_module, "bulk_load_available", lambda cur: False)
    mysql_exec(f"CREATE TABLE p (id INT PRIMARY KEY, {ddl})", "INSERT INTO p VALUES (9, NULL)")
    fits, rounded = PRECISE[ddl]
    ids = pa.array([1, 2, 3], pa.int32())
    for mode in ("append", "replace", "upsert"):
        data = StepData.from_table(pa.table({"id": ids, "d": rounded}))
        with pytest.raises(StepError, match=r"column 'd' at row with id=2 \(") as err:
            write(mysql_ctx, data, table="p", mode=mode, primary_key="id")
        assert "nothing was written" in str(err.value)
        assert mysql_exec("SELECT id FROM p") == [(9,)]
    write(mysql_ctx, StepData.from_table(pa.table({"id": ids, "d": fits})), table="p")
    assert mysql_exec("SELECT count(*) FROM p") == [(4,)]
