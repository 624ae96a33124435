"""The golden path through `osiris run`: MySQL (real MariaDB) → Supabase, over both transports.

The postgres transport writes into the real local PostgreSQL; the rest transport goes through the
real `supabase` client to the PostgREST-compatible test server over that same PostgreSQL. Rows
and values are checked in PostgreSQL against MariaDB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

pytestmark = [pytest.mark.mysql, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
MOVIES_SQL = ROOT / "tests" / "fixtures" / "movies_mysql.sql"
TABLES = {
    "directors": "director_id",
    "actors": "actor_id",
    "movies": "movie_id",
    "movie_actors": "movie_id, actor_id",
    "reviews": "review_id",
}
JWT_SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret"
# What the MySQL types become in Postgres (issue 5 mapping, then Arrow → Postgres).
EXPECTED_DDL = {
    "directors": "director_id bigint PRIMARY KEY, name text, country text, birth_date date",
    "actors": "actor_id bigint PRIMARY KEY, name text, birth_date date",
    "movies": "movie_id bigint PRIMARY KEY, title text, director_id bigint, release_date date,"
    " genre text, runtime_minutes integer, budget_usd numeric(14,2), is_color smallint, details jsonb",
    "movie_actors": "movie_id bigint, actor_id bigint, role text, billing_order smallint,"
    " PRIMARY KEY (movie_id, actor_id)",
    "reviews": "review_id numeric(20,0) PRIMARY KEY, movie_id bigint, reviewer text, rating numeric(3,1),"
    " reviewed_at timestamptz, comment text",
}


@dataclass
class Golden:
    mysql: Any
    mysql_db: str
    schema: str
    pg: Any
    server: Any
    workdir: Path

    def pg_rows(self, sql: str) -> list[tuple]:
        return self.pg.execute(sql).fetchall()

    def mysql_rows(self, sql: str) -> list[tuple]:
        return self.mysql.sql(self.mysql_db, sql)


@pytest.fixture
def golden(tmp_path, monkeypatch, mysql, postgres) -> Iterator[Golden]:
    import psycopg

    for module in ("osiris.runner", "osiris.compiler", "osiris_driver_mysql.extractor"):
        pytest.importorskip(module, reason=f"{module} has not landed yet")
    from postgrest_server import PostgrestServer, make_jwt

    mysql_db = mysql.database("osiris_sb", MOVIES_SQL)
    schema, pg = postgres.schema("sb_e2e")
    for role, extra in (("anon", ""), ("service_role", " BYPASSRLS")):
        with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pg.execute(f"CREATE ROLE {role} NOLOGIN{extra}")
    pg.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO service_role')
    pg.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT ALL ON TABLES TO service_role')
    server = PostgrestServer(dsn=postgres.dsn, jwt_secret=JWT_SECRET, schemas=[schema])
    url = server.start()

    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("E2E_MYSQL_DB", mysql_db)
    monkeypatch.setenv("E2E_SB_SCHEMA", schema)
    monkeypatch.setenv("E2E_SB_URL", url)
    monkeypatch.setenv("E2E_SB_KEY", make_jwt(JWT_SECRET, "service_role"))
    monkeypatch.setenv("E2E_SB_DB_URL", postgres.url)
    (work / "osiris_connections.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          mysql:
            default:
              host: 127.0.0.1
              port: 3306
              database: ${E2E_MYSQL_DB}
              user: root
              password: ${E2E_MYSQL_PASSWORD:-}
          supabase:
            postgres:
              db_url: ${E2E_SB_DB_URL}
              schema: ${E2E_SB_SCHEMA}
            rest:
              url: ${E2E_SB_URL}
              key: ${E2E_SB_KEY}
              schema: ${E2E_SB_SCHEMA}
        """),
        encoding="utf-8",
    )
    try:
        yield Golden(mysql, mysql_db, schema, pg, server, work)
    finally:
        server.stop()


def _run(pipeline: Path, body: str) -> Any:
    from osiris.cli.main import cli

    pipeline.parent.mkdir(parents=True, exist_ok=True)
    pipeline.write_text('oml_version: "0.1.0"\n' + textwrap.dedent(body), encoding="utf-8")
    return CliRunner().invoke(cli, ["run", str(pipeline)])


def _five_tables(alias: str) -> str:
    steps = []
    for table, key in TABLES.items():
        slug = table.replace("_", "-")
        steps.append(f"""\
          - id: extract-{slug}
            component: mysql.extractor
            mode: read
            config:
              connection: "@mysql.default"
              table: {table}
          - id: write-{slug}
            component: supabase.writer
            mode: write
            needs: [extract-{slug}]
            config:
              connection: "@supabase.{alias}"
              table: {table}
              write_mode: append
              primary_key: [{key}]
              create_if_missing: true
        """)
    return f"name: movies-to-supabase-{alias}\nsteps:\n" + "".join(
        textwrap.indent(textwrap.dedent(s), "  ") for s in steps
    )


def _normal(value: Any) -> Any:
    """Compare MariaDB and PostgreSQL values on equal terms (UTC instants, parsed JSON)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.dumps(json.loads(value), sort_keys=True)
    return value


def _same_table(g: Golden, table: str) -> None:
    order = TABLES[table]
    mine = [tuple(map(_normal, r)) for r in g.pg_rows(f"SELECT * FROM {table} ORDER BY {order}")]
    theirs = [
        tuple(map(_normal, r)) for r in g.mysql_rows(f"SELECT * FROM {table} ORDER BY {order}")
    ]
    if table == "movies":  # ENUM travels as its label
        theirs = [tuple(str(v) if i == 4 else v for i, v in enumerate(r)) for r in theirs]
    assert mine == theirs, table


def _column_types(g: Golden, table: str) -> list[tuple[str, str]]:
    return g.pg_rows(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        f" WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    )


@pytest.mark.parametrize("transport", ["postgres", "rest"])
def test_five_movies_tables_mysql_to_supabase_append(golden, transport):
    if transport == "rest":  # the REST API cannot create tables: they exist, as on a real project
        for table, ddl in EXPECTED_DDL.items():
            golden.pg.execute(f"CREATE TABLE {table} ({ddl})")
    result = _run(golden.workdir / "p" / "movies.yaml", _five_tables(transport))
    assert result.exit_code == 0, result.output
    counts = {t: golden.pg_rows(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert counts == {"directors": 6, "actors": 10, "movies": 10, "movie_actors": 20, "reviews": 14}
    for table in TABLES:
        _same_table(golden, table)
    expected = {t: dict(_column_types(golden, t)) for t in TABLES}
    assert (
        expected["movies"]["details"] == "jsonb"
        and expected["movies"]["budget_usd"] == "numeric(14,2)"
    )
    assert expected["reviews"]["reviewed_at"] == "timestamp with time zone"
    assert expected["reviews"]["review_id"] == "numeric(20,0)"
    title = golden.pg_rows("SELECT title, details->>'emoji' FROM movies WHERE movie_id = 5")
    assert title == [("Kaze no Tani 🎐", "🎐")]


STATS = """\
name: director-stats-{alias}
steps:
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      query: SELECT movie_id, director_id, budget_usd FROM movies
  - id: extract-directors
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      table: directors
  - id: director-stats
    component: duckdb.processor
    mode: transform
    needs: [extract-movies, extract-directors]
    config:
      query: |
        SELECT CAST(d.director_id AS BIGINT) AS director_id, d.name AS director_name,
               count(m.movie_id) AS movie_count, sum(m.budget_usd) AS total_budget_usd
        FROM df_extract_directors d LEFT JOIN df_extract_movies m ON m.director_id = d.director_id
        GROUP BY d.director_id, d.name
  - id: write-stats
    component: supabase.writer
    mode: write
    needs: [director-stats]
    config:
      connection: "@supabase.{alias}"
      table: director_stats
      write_mode: replace
      primary_key: director_id
      create_if_missing: true
"""


@pytest.mark.parametrize("transport", ["postgres", "rest"])
def test_mysql_duckdb_supabase_replace(golden, transport):
    golden.pg.execute(
        "CREATE TABLE director_stats (director_id bigint PRIMARY KEY, director_name text,"
        " movie_count bigint, total_budget_usd numeric(38,2))"
    )
    golden.pg.execute("INSERT INTO director_stats VALUES (1, 'stale', 0, 0), (99, 'gone', 1, 1)")
    for _ in range(2):  # replace twice: the table holds exactly the data, not twice the data
        result = _run(golden.workdir / "p" / "stats.yaml", STATS.format(alias=transport))
        assert result.exit_code == 0, result.output
    expected = golden.mysql_rows(
        "SELECT d.director_id, d.name, count(m.movie_id), sum(m.budget_usd) FROM directors d"
        " LEFT JOIN movies m ON m.director_id = d.director_id GROUP BY d.director_id, d.name ORDER BY 1",
    )
    got = golden.pg_rows("SELECT * FROM director_stats ORDER BY director_id")
    assert got == [tuple(r) for r in expected]
    assert len(got) == 6 and all(r[0] != 99 for r in got)


@pytest.mark.parametrize("transport", ["postgres", "rest"])
def test_supabase_to_parquet_through_the_cli(golden, transport):
    """supabase.extractor → filesystem.parquet_writer: exact types whichever way it reads."""
    import pyarrow.parquet as pq

    pytest.importorskip("osiris_driver_filesystem", reason="the filesystem driver is missing")
    result = _run(golden.workdir / "p" / "load.yaml", _five_tables("postgres"))
    assert result.exit_code == 0, result.output
    body = f"""\
        name: supabase-to-parquet-{transport}
        steps:
          - id: read-movies
            component: supabase.extractor
            mode: read
            config:
              connection: "@supabase.{transport}"
              table: movies
              select: movie_id,title,budget_usd,details,release_date
              filter: {{director_id: lte.3}}
              order: movie_id.asc
          - id: write-movies
            component: filesystem.parquet_writer
            mode: write
            needs: [read-movies]
            config:
              path: output/movies.parquet
        """
    result = _run(golden.workdir / "p" / "export.yaml", body)
    assert result.exit_code == 0, result.output
    table = pq.read_table(golden.workdir / "p" / "output" / "movies.parquet")
    expected = golden.pg_rows(
        "SELECT movie_id, title, budget_usd, details::text, release_date FROM movies"
        " WHERE director_id <= 3 ORDER BY movie_id"
    )
    got = [tuple(r.values()) for r in table.to_pylist()]
    budget = [r[2] for r in got]
    if transport == "rest":  # OpenAPI publishes no numeric scale: exact text, marked numeric
        assert table.schema.field("budget_usd").metadata == {b"osiris.type": b"numeric"}
        budget = [None if b is None else Decimal(b) for b in budget]
    else:
        assert table.schema.field("budget_usd").type == pa.decimal128(14, 2)
    assert [r[0] for r in got] == [r[0] for r in expected] and len(got) >= 3
    assert budget == [r[2] for r in expected]
    assert [r[1] for r in got] == [r[1] for r in expected]
    assert [json.loads(r[3]) if r[3] else None for r in got] == [
        json.loads(r[3]) if r[3] else None for r in expected
    ]
    assert [r[4] for r in got] == [r[4] for r in expected]
