"""Incremental loads through `osiris run` on a real PostgreSQL: supabase.extractor -> supabase.writer.

The source is read over the database (table and query forms) and over REST (the real `supabase`
client against the PostgREST-compatible test server); the target is upserted over the database.
Every cursor type: integer, numeric with and without a declared scale, date, timestamp,
timestamptz. Three runs with rows added and updated give exactly the source.
"""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.postgres

JWT_SECRET = "inc-secret-inc-secret-inc-secret-inc-secret"
COLUMNS = "id, seq, amount, big, day, local_ts, updated_at, note"
SOURCES = {
    "table": ("@supabase.postgres", "table: events"),
    "query": ("@supabase.postgres", f"query: \"SELECT {COLUMNS} FROM events WHERE note LIKE '%'\""),
    "rest": ("@supabase.rest", "table: events"),
}


class Project:
    def __init__(self, pg, schema: str, work: Path) -> None:
        self.pg, self.schema, self.work = pg, schema, work
        self.seq = 0

    def rows(self, sql: str) -> list[tuple]:
        return self.pg.execute(sql).fetchall()

    def change(self, *ids: int) -> None:
        """Insert or update rows; every cursor column grows with each change."""
        for row_id in ids:
            self.seq += 1
            s = self.seq
            self.pg.execute(
                "INSERT INTO events VALUES (%s, %s, %s::numeric, %s::numeric,"
                " date '2026-01-01' + %s, timestamp '2026-01-01' + %s * interval '1 hour 1 us',"
                " timestamptz '2026-01-01 00:00:00+02' + %s * interval '1 minute 1 us', %s)"
                " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, amount = excluded.amount,"
                " big = excluded.big, day = excluded.day, local_ts = excluded.local_ts,"
                " updated_at = excluded.updated_at, note = excluded.note",
                (row_id, s, f"{s}.25", f"{s}000000000000000000000000000000.000001", s, s, s,
                 f"v{s}"),
            )  # fmt: skip

    def pipeline(
        self, source: str, incremental: str, name: str = "events-sync", form: str | None = None
    ) -> Path:
        connection, default_form = SOURCES[source]
        form = form or default_form
        path = self.work / f"{name}.yaml"
        path.write_text(
            textwrap.dedent(f"""\
                oml_version: "0.1.0"
                name: {name}
                steps:
                  - id: read-events
                    component: supabase.extractor
                    mode: read
                    config:
                      connection: "{connection}"
                      {form}
                      incremental: {incremental}
                  - id: write-events
                    component: supabase.writer
                    mode: write
                    needs: [read-events]
                    config:
                      connection: "@supabase.postgres"
                      table: events_copy
                      write_mode: upsert
                      primary_key: [id]
                      create_if_missing: true
                """),
            encoding="utf-8",
        )
        return path

    def same_as_source(self) -> bool:
        source = self.rows(f"SELECT {COLUMNS} FROM events ORDER BY id")
        return source == self.rows(f"SELECT {COLUMNS} FROM events_copy ORDER BY id")


@pytest.fixture
def project(tmp_path, monkeypatch, postgres):
    import psycopg

    pytest.importorskip("osiris_driver_supabase")
    from postgrest_server import PostgrestServer, make_jwt

    schema, pg = postgres.schema("inc")
    for role, extra in (("anon", ""), ("service_role", " BYPASSRLS")):
        with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pg.execute(f"CREATE ROLE {role} NOLOGIN{extra}")
    pg.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO service_role')
    pg.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT ALL ON TABLES TO service_role')
    pg.execute(
        "CREATE TABLE events (id int PRIMARY KEY, seq bigint NOT NULL, amount numeric(12,2) NOT"
        " NULL, big numeric NOT NULL, day date NOT NULL, local_ts timestamp NOT NULL,"
        " updated_at timestamptz NOT NULL, note text)"
    )
    server = PostgrestServer(dsn=postgres.dsn, jwt_secret=JWT_SECRET, schemas=[schema])
    url = server.start()
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    (work / "osiris_connections.yaml").write_text(
        textwrap.dedent(f"""\
            version: 1
            connections:
              supabase:
                postgres:
                  db_url: {postgres.url}
                  schema: {schema}
                rest:
                  url: {url}
                  key: {make_jwt(JWT_SECRET, "service_role")}
                  schema: {schema}
            """),
        encoding="utf-8",
    )
    try:
        yield Project(pg, schema, work)
    finally:
        server.stop()


def run(path: Path, *extra: str) -> tuple[int, dict, list[dict]]:
    from osiris.cli.main import cli
    from osiris.testing.session_checks import assert_session_valid

    result = CliRunner().invoke(cli, ["run", str(path), "--json", *extra])
    payload = json.loads(result.stdout)
    session = Path(payload["session_dir"])
    assert_session_valid(session)
    lines = (session / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return result.exit_code, payload, [json.loads(line) for line in lines]


def one(records: list[dict], name: str) -> dict:
    found = [r for r in records if r["event"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


@pytest.mark.parametrize(
    ("source", "cursor", "kind"),
    [
        ("table", "updated_at", "timestamptz"),
        ("query", "updated_at", "timestamptz"),
        ("rest", "updated_at", "timestamptz"),
        ("table", "seq", "integer"),
        ("table", "amount", "decimal"),
        ("query", "big", "decimal"),
        ("rest", "big", "decimal"),
        ("table", "day", "date"),
        ("rest", "local_ts", "timestamp"),
        ("query", "local_ts", "timestamp"),
    ],
)
def test_three_runs_with_inserts_and_updates_give_exactly_the_source(project, source, cursor, kind):
    project.change(1, 2, 3)
    path = project.pipeline(source, f"{{cursor: {cursor}}}")
    code, payload, ev = run(path)
    assert code == 0, payload
    assert one(ev, "incremental_mark")["rows"] == 3
    first = one(ev, "state_commit")
    assert first["type"] == kind
    assert project.same_as_source()

    project.change(4, 2)
    code, payload, ev = run(path)
    assert code == 0, payload
    assert one(ev, "incremental_start")["bound"] == first["value"]
    assert one(ev, "incremental_mark")["rows"] == 2
    assert project.same_as_source()

    project.change(1, 5)
    code, payload, ev = run(path)
    assert code == 0, payload
    assert one(ev, "incremental_mark")["rows"] == 2
    assert project.same_as_source()
    expected = {
        "updated_at": "2025-12-31T22:07:00.000007+00:00",  # 00:07 at +02, stored in UTC
        "seq": "7",
        "amount": "7.25",
        "big": "7000000000000000000000000000000.000001",
        "day": "2026-01-08",
        "local_ts": "2026-01-01T07:00:00.000007",
    }[cursor]
    assert one(ev, "state_commit")["value"] == expected


@pytest.mark.parametrize("source", ["table", "rest"])
def test_lookback_with_upsert_never_duplicates(project, source):
    project.change(1, 2, 3)
    path = project.pipeline(source, '{cursor: updated_at, lookback: "2 minutes"}')
    assert run(path)[0] == 0
    code, _, ev = run(path)
    assert code == 0
    start = one(ev, "incremental_start")
    assert (start["op"], start["bound"]) == (">=", "2025-12-31T22:01:00.000003+00:00")
    assert one(ev, "incremental_mark")["rows"] == 2  # rows 2 and 3 again
    assert project.rows("SELECT count(*), count(DISTINCT id) FROM events_copy") == [(3, 3)]
    assert project.same_as_source()


def test_a_failed_write_keeps_the_mark_and_the_next_run_reads_the_same_rows(project):
    project.change(1, 2)
    path = project.pipeline("table", "{cursor: seq}")
    assert run(path)[0] == 0
    project.pg.execute("ALTER TABLE events_copy ADD CONSTRAINT no_v4 CHECK (note <> 'v4')")
    project.change(3, 4)
    code, payload, ev = run(path)
    assert code == 1
    assert one(ev, "incremental_mark")["rows"] == 2
    assert one(ev, "state_kept")["reason"] == "write step 'write-events' did not commit"
    assert payload["state"]["read-events"] == {
        "cursor": "seq", "value": "2", "committed": False,
        "reason": "write step 'write-events' did not commit",
    }  # fmt: skip
    assert project.rows("SELECT count(*) FROM events_copy") == [(2,)]
    project.pg.execute("ALTER TABLE events_copy DROP CONSTRAINT no_v4")
    code, _, ev = run(path)
    assert code == 0
    assert one(ev, "incremental_start")["bound"] == "2"
    assert one(ev, "incremental_mark")["rows"] == 2
    assert project.same_as_source()


@pytest.mark.parametrize("source", ["table", "query", "rest"])
def test_a_cursor_with_nulls_or_of_text_fails_before_any_row_is_written(project, source):
    project.pg.execute("ALTER TABLE events ADD COLUMN version int")
    project.change(1, 2)
    project.pg.execute("UPDATE events SET version = 1 WHERE id = 1")
    form = "query: SELECT * FROM events" if source == "query" else None
    code, payload, _ = run(project.pipeline(source, "{cursor: note}", form=form))
    assert code == 1
    assert "cannot be a cursor: text sorts by the server's collation" in payload["error"]
    code, payload, _ = run(project.pipeline(source, "{cursor: version}", form=form))
    assert code == 1
    assert (
        "Step 'read-events': incremental cursor column 'version': rows have NULL"
        in (payload["error"])
    )
    assert project.rows("SELECT to_regclass('events_copy')") == [(None,)]
    assert not (project.work / ".osiris" / "state.sqlite").exists()


def test_full_refresh_and_the_initial_value(project):
    project.change(1, 2, 3)
    path = project.pipeline("table", '{cursor: day, initial: "2026-01-03"}')
    code, _, ev = run(path)
    assert code == 0 and one(ev, "incremental_mark")["rows"] == 2
    project.pg.execute("TRUNCATE events_copy")
    code, _, ev = run(path, "--full-refresh")
    assert code == 0
    assert one(ev, "state_read")["full_refresh"] is True
    assert one(ev, "incremental_mark")["rows"] == 2  # from the initial value again
    assert one(ev, "state_commit")["value"] == "2026-01-04"
    assert project.rows("SELECT count(*) FROM events_copy") == [(2,)]
