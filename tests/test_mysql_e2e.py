"""MySQL through `osiris run` against a real MariaDB: the movies pipelines of the existing Osiris
(MySQL -> CSV for five tables with `needs`), MySQL -> Parquet, the type matrix MySQL -> Parquet ->
MySQL and MySQL -> MySQL, read-only enforcement, a failed write, and discovery with its cache."""

from __future__ import annotations

import csv
import textwrap
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.mysql

ROOT = Path(__file__).resolve().parents[1]
MOVIES_SQL = ROOT / "tests" / "fixtures" / "movies_mysql.sql"
MATRIX_SQL = ROOT / "osiris-driver-mysql" / "tests" / "type_matrix.sql"
TABLES = ["directors", "actors", "movies", "movie_actors", "reviews"]


@pytest.fixture
def mysql_e2e_db(tmp_path, monkeypatch, mysql) -> str:
    """A fresh database with the movies tables, and a cwd holding osiris_connections.yaml."""
    pytest.importorskip("osiris.runner", reason="the runner has not landed yet")
    pytest.importorskip("osiris_driver_filesystem", reason="the filesystem driver is missing")
    name = mysql.database("osiris_test", MOVIES_SQL)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MYSQL_E2E_DATABASE", name)
    (work / "osiris_connections.yaml").write_text(
        textwrap.dedent("""\
            version: 1
            connections:
              mysql:
                default:
                  host: 127.0.0.1
                  port: 3306
                  database: ${MYSQL_E2E_DATABASE}
                  user: root
                  password: ${MYSQL_E2E_PASSWORD:-}
            """),
        encoding="utf-8",
    )
    return name


def _run(*args: str):
    from osiris.cli.main import cli

    return CliRunner().invoke(cli, list(args))


def _pipeline(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('oml_version: "0.1.0"\n' + textwrap.dedent(body), encoding="utf-8")
    return path


def _movies_to_files(fmt: str) -> str:
    """The existing Osiris's movies pipeline: one extract and one write per table, with needs."""
    writer = "filesystem.csv_writer" if fmt == "csv" else "filesystem.parquet_writer"
    steps = []
    for table in TABLES:
        slug = table.replace("_", "-")
        steps.append(f"""\
          - id: extract-{slug}
            component: mysql.extractor
            mode: read
            config:
              connection: "@mysql.default"
              query: "SELECT * FROM {table}"
              batch_size: 4
          - id: write-{slug}
            component: {writer}
            mode: write
            needs: [extract-{slug}]
            config:
              path: output/{table}.{fmt}
        """)
    return f"name: mysql-movies-to-{fmt}\nsteps:\n" + "".join(
        textwrap.indent(textwrap.dedent(s), "  ") for s in steps
    )


def test_movies_to_csv_five_tables_with_needs(tmp_path, mysql_e2e_db):
    pipeline = _pipeline(tmp_path / "p" / "movies_csv.yaml", _movies_to_files("csv"))
    result = _run("run", str(pipeline))
    assert result.exit_code == 0, result.output
    out = pipeline.parent / "output"
    counts = {
        t: len(list(csv.DictReader((out / f"{t}.csv").open(encoding="utf-8")))) for t in TABLES
    }
    assert counts == {"directors": 6, "actors": 10, "movies": 10, "movie_actors": 20, "reviews": 14}
    movies = {r["movie_id"]: r for r in csv.DictReader((out / "movies.csv").open(encoding="utf-8"))}
    assert movies["5"]["title"] == "Kaze no Tani 🎐" and movies["7"]["budget_usd"] == "48000000.99"
    assert movies["5"]["details"] == '{"language": "ja", "emoji": "🎐"}'
    assert movies["6"]["release_date"] == "" and movies["4"]["is_color"] == "0"
    reviews = {
        r["review_id"]: r for r in csv.DictReader((out / "reviews.csv").open(encoding="utf-8"))
    }
    assert reviews["4"]["comment"] == "Tense.\nToo long in the middle."
    assert reviews["9"]["comment"] == "Big, loud, \\ hollow." and reviews["7"]["reviewer"] == "ゆき"
    actors = {
        r["actor_id"]: r["name"]
        for r in csv.DictReader((out / "actors.csv").open(encoding="utf-8"))
    }
    assert actors["8"] == 'Tobias "Toby" O\'Neill'


def test_movies_to_parquet_keeps_types(tmp_path, mysql_e2e_db):
    pipeline = _pipeline(tmp_path / "p" / "movies_parquet.yaml", _movies_to_files("parquet"))
    result = _run("run", str(pipeline))
    assert result.exit_code == 0, result.output
    out = pipeline.parent / "output"
    movies = pq.read_table(out / "movies.parquet")
    assert movies.schema.field("budget_usd").type == pa.decimal128(14, 2)
    assert movies.schema.field("movie_id").type == pa.uint32()
    assert movies.schema.field("details").metadata == {b"osiris.type": b"json"}
    assert movies.sort_by("movie_id")["budget_usd"][6].as_py() == Decimal("48000000.99")
    reviews = pq.read_table(out / "reviews.parquet")
    assert reviews.schema.field("reviewed_at").type == pa.timestamp("us", "UTC")
    assert reviews.num_rows == 14


def test_type_matrix_mysql_to_parquet_to_mysql(tmp_path, mysql, mysql_e2e_db):
    mysql.load(mysql_e2e_db, MATRIX_SQL)
    mysql.sql(mysql_e2e_db, "CREATE TABLE matrix_back LIKE type_matrix",
         "CREATE TABLE matrix_direct LIKE type_matrix")  # fmt: skip
    out = _pipeline(
        tmp_path / "p" / "to_parquet.yaml",
        """\
        name: matrix-to-parquet
        steps:
          - id: extract-matrix
            component: mysql.extractor
            mode: read
            config: {connection: "@mysql.default", table: type_matrix, batch_size: 2}
          - id: write-matrix
            component: filesystem.parquet_writer
            mode: write
            needs: [extract-matrix]
            config: {path: output/matrix.parquet}
        """,
    )
    back = _pipeline(
        tmp_path / "p" / "to_mysql.yaml",
        """\
        name: parquet-to-mysql
        steps:
          - id: read-matrix
            component: filesystem.parquet_extractor
            mode: read
            config: {path: output/matrix.parquet}
          - id: write-back
            component: mysql.writer
            mode: write
            needs: [read-matrix]
            config: {connection: "@mysql.default", table: matrix_back, mode: append}
          - id: extract-again
            component: mysql.extractor
            mode: read
            config: {connection: "@mysql.default", table: type_matrix}
          - id: write-direct
            component: mysql.writer
            mode: write
            needs: [extract-again]
            config: {connection: "@mysql.default", table: matrix_direct, mode: replace}
        """,
    )
    for pipeline in (out, back):
        result = _run("run", str(pipeline))
        assert result.exit_code == 0, result.output
    original = mysql.sql(mysql_e2e_db, "SELECT * FROM type_matrix ORDER BY id")
    assert mysql.sql(mysql_e2e_db, "SELECT * FROM matrix_back ORDER BY id") == original
    assert mysql.sql(mysql_e2e_db, "SELECT * FROM matrix_direct ORDER BY id") == original


def test_drop_table_in_an_extractor_is_invalid_and_the_table_survives(
    tmp_path, mysql, mysql_e2e_db
):
    pipeline = _pipeline(
        tmp_path / "p" / "bad.yaml",
        """\
        name: bad
        steps:
          - id: extract-movies
            component: mysql.extractor
            mode: read
            config: {connection: "@mysql.default", query: DROP TABLE movies}
          - id: write-movies
            component: filesystem.csv_writer
            mode: write
            needs: [extract-movies]
            config: {path: output/movies.csv}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 2, result.output
    assert "steps[0].config.query" in result.output and "DROP" in result.output
    assert mysql.sql(mysql_e2e_db, "SELECT COUNT(*) FROM movies") == [(10,)]


def test_failed_write_fails_the_run_and_keeps_the_target(tmp_path, mysql, mysql_e2e_db):
    mysql.sql(mysql_e2e_db, "CREATE TABLE short_titles (movie_id INT UNSIGNED PRIMARY KEY,"
         " title VARCHAR(12) NOT NULL)", "INSERT INTO short_titles VALUES (99, 'keep me')")  # fmt: skip
    pipeline = _pipeline(
        tmp_path / "p" / "fail.yaml",
        """\
        name: fail
        steps:
          - id: extract-movies
            component: mysql.extractor
            mode: read
            config: {connection: "@mysql.default", query: "SELECT movie_id, title FROM movies ORDER BY movie_id"}
          - id: write-titles
            component: mysql.writer
            mode: write
            needs: [extract-movies]
            config: {connection: "@mysql.default", table: short_titles, mode: replace, batch_size: 2, primary_key: movie_id}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 1, result.output
    assert "column 'title' at row with movie_id=1" in result.output
    assert "Traceback" not in result.output
    assert mysql.sql(mysql_e2e_db, "SELECT * FROM short_titles") == [(99, "keep me")]


def test_discover_and_its_cache(mysql, mysql_e2e_db):
    import json

    first = _run("discover", "@mysql.default", "--json", "--samples", "1")
    assert first.exit_code == 0, first.output
    found = json.loads(first.output)
    assert {t["name"] for t in found["tables"]} == set(TABLES)
    reviews = next(t for t in found["tables"] if t["name"] == "reviews")
    assert reviews["primary_key"] == ["review_id"] and len(reviews["samples"]) == 1
    assert json.loads(_run("discover", "@mysql.default", "--json", "--samples", "1").output)[
        "cached"
    ]
    mysql.sql(mysql_e2e_db, "CREATE VIEW top_movies AS SELECT movie_id, title FROM movies")
    cached = json.loads(_run("discover", "@mysql.default", "--json", "--samples", "1").output)
    assert "top_movies" not in {t["name"] for t in cached["tables"]}
    other = json.loads(_run("discover", "@mysql.default", "--json", "--samples", "2").output)
    assert not other["cached"] and "top_movies" in {t["name"] for t in other["tables"]}
    fresh = json.loads(
        _run("discover", "@mysql.default", "--json", "--samples", "1", "--refresh").output
    )
    assert not fresh["cached"] and "top_movies" in {t["name"] for t in fresh["tables"]}
