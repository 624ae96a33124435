"""Incremental loads through `osiris run` on a real MariaDB: MySQL -> MySQL with upsert.

Three runs with rows added and updated between them leave exactly the source table in the
target; a failing or killed run leaves the mark where it was, so the next run reads the same rows;
a lookback never duplicates; --full-refresh reads everything once; `osiris state` shows and resets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.mysql

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def inc(tmp_path, monkeypatch, mysql):
    """A database with a source table `orders`, and a cwd with osiris_connections.yaml."""
    pytest.importorskip("osiris_driver_mysql")
    db = mysql.database("osiris_inc")
    mysql.sql(
        db,
        "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL,"
        " note VARCHAR(40) NULL, updated_at DATETIME(6) NOT NULL)",
        "INSERT INTO orders VALUES (1, 10.00, 'a', '2026-01-01 00:00:00.000001'),"
        " (2, 20.50, 'b', '2026-01-01 00:00:00.000002'),"
        " (3, 30.25, NULL, '2026-01-02 08:00:00')",
    )
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    (work / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  mysql:\n    default:\n      host: 127.0.0.1\n"
        f"      port: 3306\n      user: root\n      password: ''\n      database: {db}\n",
        encoding="utf-8",
    )
    return Project(mysql, db, work)


class Project:
    def __init__(self, mysql, db: str, work: Path) -> None:
        self.mysql, self.db, self.work = mysql, db, work

    def sql(self, *statements: str) -> list[tuple]:
        return self.mysql.sql(self.db, *statements)

    def pipeline(self, incremental: str, *, source: str = "table: orders", mode: str = "upsert",
                 name: str = "orders-sync") -> Path:  # fmt: skip
        path = self.work / f"{name}.yaml"
        path.write_text(
            textwrap.dedent(f"""\
                oml_version: "0.1.0"
                name: {name}
                steps:
                  - id: read-orders
                    component: mysql.extractor
                    mode: read
                    config:
                      connection: "@mysql.default"
                      {source}
                      incremental: {incremental}
                      batch_size: 2
                  - id: write-orders
                    component: mysql.writer
                    mode: write
                    needs: [read-orders]
                    config:
                      connection: "@mysql.default"
                      table: orders_copy
                      mode: {mode}
                      primary_key: id
                      create_table: true
                """),
            encoding="utf-8",
        )
        return path

    def same_as_source(self) -> bool:
        cols = "id, amount, note, updated_at"
        source = self.sql(f"SELECT {cols} FROM orders ORDER BY id")
        return source == self.sql(f"SELECT {cols} FROM orders_copy ORDER BY id")


def cli(*args: str):
    from osiris.cli.main import cli as main

    return CliRunner().invoke(main, list(args))


def events(result) -> list[dict]:
    """The events of the session a `osiris run --json` reported."""
    session = Path(json.loads(result.stdout)["session_dir"])
    lines = (session / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def one(records: list[dict], name: str) -> dict:
    found = [r for r in records if r["event"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def run(path: Path, *extra: str):
    from osiris.testing.session_checks import assert_session_valid

    result = cli("run", str(path), "--json", *extra)
    payload = json.loads(result.stdout)
    assert_session_valid(Path(payload["session_dir"]))
    return result, payload, events(result)


def test_three_runs_with_inserts_and_updates_give_exactly_the_source(inc):
    path = inc.pipeline("{cursor: updated_at}")
    result, payload, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "state_read")["found"] is False
    assert one(ev, "incremental_start")["bound"] is None
    assert one(ev, "incremental_mark")["rows"] == 3
    commit = one(ev, "state_commit")
    assert commit["value"] == "2026-01-02T08:00:00.000000" and commit["type"] == "timestamp"
    assert payload["state"]["read-orders"]["committed"] is True
    assert inc.same_as_source()

    inc.sql(
        "INSERT INTO orders VALUES (4, 40.00, 'd', '2026-01-03 00:00:00')",
        "UPDATE orders SET amount = 21.00, updated_at = '2026-01-03 00:00:01' WHERE id = 2",
    )
    result, _, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "state_read")["value"] == "2026-01-02T08:00:00.000000"
    start = one(ev, "incremental_start")
    assert (start["op"], start["bound"]) == (">", "2026-01-02T08:00:00.000000")
    assert one(ev, "incremental_mark")["rows"] == 2  # only the new and the changed row
    assert inc.same_as_source()

    inc.sql(
        "INSERT INTO orders VALUES (5, 50.00, NULL, '2026-01-04 00:00:00.5')",
        "UPDATE orders SET note = 'changed', updated_at = '2026-01-04 00:00:00.4' WHERE id = 1",
    )
    result, _, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "incremental_mark")["rows"] == 2
    assert one(ev, "state_commit")["value"] == "2026-01-04T00:00:00.500000"
    assert inc.same_as_source()
    fourth = cli("run", str(path)).output  # reads nothing, keeps the mark
    assert "state read-orders: updated_at stays 2026-01-04T00:00:00.500000 (no rows past" in fourth
    assert inc.same_as_source()


def test_a_failed_write_keeps_the_mark_and_the_next_run_reads_the_same_rows(inc):
    path = inc.pipeline("{cursor: id}")
    assert run(path)[0].exit_code == 0
    inc.sql(
        "INSERT INTO orders VALUES (4, 40.00, 'd', NOW()), (5, 50.00, 'boom', NOW())",
        "CREATE TRIGGER refuse BEFORE INSERT ON orders_copy FOR EACH ROW"
        " IF NEW.note = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no'; END IF",
    )
    result, payload, ev = run(path)
    assert result.exit_code == 1
    assert one(ev, "incremental_mark")["rows"] == 2  # the extract finished ...
    kept = one(ev, "state_kept")  # ... but its write did not commit
    assert kept["reason"] == "write step 'write-orders' did not commit" and kept["value"] == "3"
    assert payload["state"]["read-orders"]["committed"] is False
    assert not [e for e in ev if e["event"] == "state_commit"]
    assert inc.sql("SELECT COUNT(*) FROM orders_copy") == [(3,)]
    assert json.loads(cli("state", "show", "orders-sync", "--json").output)[0]["value"] == "3"

    inc.sql("DROP TRIGGER refuse")
    result, _, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "incremental_start")["bound"] == "3"
    assert one(ev, "incremental_mark")["rows"] == 2  # the same rows again
    assert one(ev, "state_commit")["value"] == "5"
    assert inc.same_as_source()


def test_a_run_killed_after_the_extract_leaves_the_state_unchanged(inc):
    path = inc.pipeline("{cursor: id}")
    assert run(path)[0].exit_code == 0
    inc.sql(
        "INSERT INTO orders VALUES (4, 40.00, 'd', NOW())",
        # The merge into the target waits here until the test has killed the run.
        "CREATE TRIGGER stall BEFORE INSERT ON orders_copy FOR EACH ROW SET @x = SLEEP(60)",
    )
    logs = inc.work / "killed-logs"
    env = {**os.environ, "OSIRIS_LOGS_DIR": str(logs)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "osiris"), "run", str(path)],
        cwd=inc.work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_event(logs, "incremental_mark", proc)
        _wait_for_merge(inc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(cli("state", "show", "orders-sync", "--json").output)[0]["value"] == "3"
    inc.sql("DROP TRIGGER stall")
    result, _, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "incremental_start")["bound"] == "3"
    assert one(ev, "incremental_mark")["rows"] == 1
    assert inc.same_as_source()


def _wait_for_event(logs: Path, name: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        for path in logs.glob("*/events.jsonl"):
            if f'"event": "{name}"' in path.read_text(encoding="utf-8"):
                return
        time.sleep(0.05)
    pytest.fail(f"no {name} event within 60 s")


def _wait_for_merge(inc: Project) -> None:
    """Until the writer's merge sits in the trigger (its transaction is open, uncommitted)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = inc.sql(
            "SELECT COUNT(*) FROM information_schema.processlist"
            f" WHERE db = '{inc.db}' AND info = 'SET @x = SLEEP(60)'"
        )
        if rows[0][0]:
            return
        time.sleep(0.05)
    pytest.fail("the writer never reached the target table")


def test_lookback_with_upsert_never_duplicates(inc):
    path = inc.pipeline('{cursor: updated_at, lookback: "1 days"}')
    for _ in range(2):
        result, _, ev = run(path)
        assert result.exit_code == 0, result.output
    start = one(ev, "incremental_start")
    assert (start["op"], start["bound"]) == (">=", "2026-01-01T08:00:00.000000")
    assert one(ev, "incremental_mark")["rows"] == 1  # row 3 read again, written once
    inc.sql("INSERT INTO orders VALUES (4, 1.00, 'late', '2026-01-02 07:00:00')")  # a late commit
    result, _, ev = run(path)
    assert one(ev, "incremental_mark")["rows"] == 2  # the late row is caught
    assert one(ev, "state_kept")["value"] == "2026-01-02T08:00:00.000000"
    assert inc.same_as_source()
    assert inc.sql("SELECT COUNT(*), COUNT(DISTINCT id) FROM orders_copy") == [(4, 4)]


def test_lookback_into_an_append_writer_is_a_validation_error(inc):
    path = inc.pipeline("{cursor: id, lookback: 10}", mode="append")
    result = cli("oml", "validate", str(path))
    assert result.exit_code == 2
    assert "write step 'write-orders' appends: they would be written twice" in result.output
    assert not (inc.work / ".osiris" / "state.sqlite").exists()


def test_full_refresh_reads_everything_once_then_stores_the_new_mark(inc):
    path = inc.pipeline("{cursor: id, initial: 2}")
    result, _, ev = run(path)
    assert one(ev, "incremental_start")["op"] == ">=" and one(ev, "incremental_mark")["rows"] == 2
    inc.sql("DELETE FROM orders_copy")
    result, _, ev = run(path, "--full-refresh")
    assert result.exit_code == 0, result.output
    read = one(ev, "state_read")
    assert read["full_refresh"] is True and read["value"] == "3"
    assert one(ev, "incremental_start")["bound"] == "2"  # the initial value, not the mark
    assert one(ev, "state_commit")["value"] == "3"
    _, _, ev = run(path)
    assert one(ev, "incremental_mark")["rows"] == 0
    assert one(ev, "state_kept")["reason"] == "no rows past the mark"


def test_query_form_with_a_decimal_cursor_and_a_float(inc):
    inc.sql("ALTER TABLE orders ADD COLUMN ratio FLOAT NULL", "UPDATE orders SET ratio = 16777215")
    path = inc.pipeline(
        "{cursor: amount}", source='query: "SELECT id, amount, note, updated_at, ratio FROM orders'
        ' WHERE note IS NULL OR note <> \'x\' ORDER BY id DESC"',
    )  # fmt: skip
    result, _, ev = run(path)
    assert result.exit_code == 0, result.output
    assert one(ev, "state_commit")["value"] == "30.25" and one(ev, "state_commit")["type"] == (
        "decimal"
    )
    assert inc.sql("SELECT DISTINCT ratio + 0e0 FROM orders_copy") == [(16777215.0,)]
    inc.sql("INSERT INTO orders VALUES (4, 30.26, 'd', NOW(), 1)")
    _, _, ev = run(path)
    assert one(ev, "incremental_mark")["rows"] == 1
    assert inc.sql("SELECT COUNT(*) FROM orders_copy") == [(4,)]


def test_a_nullable_cursor_with_nulls_and_an_unorderable_cursor_fail_before_data_moves(inc):
    path = inc.pipeline("{cursor: note}")
    result = cli("run", str(path))
    assert result.exit_code == 1
    assert "Step 'read-orders': incremental cursor column 'note' cannot be a cursor: text" in (
        result.output
    )
    inc.sql("ALTER TABLE orders ADD COLUMN seq INT NULL", "UPDATE orders SET seq = id WHERE id < 3")
    result = cli("run", str(inc.pipeline("{cursor: seq}")))
    assert result.exit_code == 1
    assert "incremental cursor column 'seq': rows have NULL there" in result.output
    assert inc.sql("SHOW TABLES LIKE 'orders_copy'") == []  # nothing was written
    assert not (inc.work / ".osiris" / "state.sqlite").exists()


def test_state_commands_list_show_and_reset(inc):
    path = inc.pipeline("{cursor: id}")
    assert run(path)[0].exit_code == 0
    listed = cli("state", "list")
    assert listed.exit_code == 0
    assert "orders-sync  read-orders  id      integer  3" in listed.output
    shown = json.loads(
        cli("state", "show", "orders-sync", "--step", "read-orders", "--json").output
    )
    assert shown[0]["cursor"] == "id" and shown[0]["session"].startswith("run_")
    missing = cli("state", "show", "orders-sync", "--step", "nope")
    assert missing.exit_code == 2 and "Steps with a mark: read-orders" in missing.output
    unknown = cli("state", "reset", "other")
    assert unknown.exit_code == 2 and "Pipelines with state: orders-sync" in unknown.output
    reset = cli("state", "reset", "orders-sync", "--step", "read-orders")
    assert reset.exit_code == 0 and "Reset 1 mark of step 'read-orders'" in reset.output
    assert "No incremental state" in cli("state", "list").output
    _, _, ev = run(path)
    assert one(ev, "state_read")["found"] is False
    assert one(ev, "incremental_mark")["rows"] == 3
    assert inc.same_as_source()
