"""mysql.extractor: read-only enforcement, streaming in batches, options and clear errors."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_mysql.extractor import MySQLExtractor

pytestmark = pytest.mark.mysql


@pytest.fixture
def movies(mysql_exec):
    mysql_exec(
        "CREATE TABLE movies (id INT PRIMARY KEY, title VARCHAR(100) NOT NULL,"
        " rating DECIMAL(3,1) NULL, released DATE NULL, score FLOAT NULL)",
        "INSERT INTO movies VALUES (1, 'Alien', 8.5, '1979-05-25', 0.1),"
        " (2, 'Amélie 🎬', 8.3, '2001-04-25', NULL), (3, 'Heat', NULL, NULL, 1.5),"
        " (4, 'Up', 8.2, '2009-05-29', 2.25), (5, 'Ran', 8.2, '1985-06-01', 3)",
    )
    return mysql_exec


def run(mysql_ctx, **config):
    ctx, recorded = mysql_ctx("extract_movies")
    out = MySQLExtractor().run(step_id="extract_movies", config=config, inputs={}, ctx=ctx)
    return out["df"], recorded


@pytest.mark.parametrize(
    "query",
    ["DROP TABLE movies", "SELECT 1; DROP TABLE movies", "DELETE FROM movies",
     "SELECT * FROM movies INTO OUTFILE '/tmp/x'"],
)  # fmt: skip
def test_write_queries_are_refused_and_the_table_survives(mysql_ctx, movies, query):
    with pytest.raises(StepError, match="Step 'extract_movies': the extractor only runs read-only"):
        run(mysql_ctx, query=query)
    assert movies("SELECT COUNT(*) FROM movies") == [(5,)]


def test_where_is_checked_too(mysql_ctx, movies):
    with pytest.raises(StepError, match="read-only"):
        run(mysql_ctx, table="movies", where="1=1; DROP TABLE movies")
    assert movies("SELECT COUNT(*) FROM movies") == [(5,)]


def test_query_runs_in_a_read_only_transaction(mysql_ctx, movies):
    # A write hidden in a function passes the lexical check; the transaction still refuses it.
    movies(
        "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA"
        " BEGIN UPDATE movies SET title = 'x'; RETURN 1; END"
    )
    with pytest.raises(StepError, match=r"READ ONLY transaction"):
        run(mysql_ctx, query="SELECT bump()")[0].read_all()
    assert movies("SELECT title FROM movies WHERE id = 1") == [("Alien",)]


def test_streams_in_batches_of_batch_size(mysql_ctx, movies):
    reader, recorded = run(mysql_ctx, table="movies", batch_size=2)
    sizes = [batch.num_rows for batch in reader]
    assert sizes == [2, 2, 1]
    assert recorded.metric("rows_read") == 5 and recorded.metric("bytes_read") > 0
    assert [e for e, _ in recorded.events] == ["query_start", "query_complete"]


def test_wide_rows_make_smaller_batches(mysql_ctx, mysql_exec, monkeypatch):
    """Memory follows bytes, not only rows: 10 KB rows never fill a 10,000-row batch."""
    from osiris import batching

    monkeypatch.setattr(batching, "BATCH_BYTES", 64 * 1024)
    monkeypatch.setattr(batching, "FIRST_FETCH", 3)
    mysql_exec(
        "CREATE TABLE docs (id INT PRIMARY KEY, body MEDIUMBLOB)",
        "INSERT INTO docs SELECT seq, REPEAT(CHAR(65 + seq % 26), 10000) FROM seq_1_to_100",
    )
    reader, recorded = run(mysql_ctx, table="docs")
    batches = list(reader)
    assert [b.num_rows for b in batches] == [3] + [6] * 16 + [1]  # 64 KiB // ~10 KB = 6
    assert max(b.nbytes for b in batches) < 2 * 64 * 1024
    ids = pa.Table.from_batches(batches).column("id").to_pylist()
    assert ids == list(range(1, 101)) and recorded.metric("rows_read") == 100


def test_table_mode_options(mysql_ctx, movies):
    reader, _ = run(mysql_ctx, table="movies", columns=["id", "title"], where="id > 1", limit=2)
    table = reader.read_all()
    assert table.column_names == ["id", "title"]
    assert table.to_pylist() == [{"id": 2, "title": "Amélie 🎬"}, {"id": 3, "title": "Heat"}]


def test_query_mode_with_join_and_cte(mysql_ctx, movies):
    reader, _ = run(
        mysql_ctx,
        query="WITH top AS (SELECT id, rating FROM movies WHERE rating >= 8.3)"
        " SELECT m.title, t.rating FROM movies m JOIN top t ON t.id = m.id ORDER BY m.id",
    )
    table = reader.read_all()
    assert table.schema.field("rating").type == pa.decimal128(3, 1)
    assert [r["title"] for r in table.to_pylist()] == ["Alien", "Amélie 🎬"]


def test_float_is_exact_in_table_mode_and_in_query_mode(mysql_ctx, movies):
    table = run(mysql_ctx, table="movies", columns=["id", "score"])[0].read_all()
    assert table["score"].to_pylist()[0] == pa.scalar(0.1, pa.float32()).as_py()
    queried = run(mysql_ctx, query="SELECT id, score FROM movies")[0].read_all()
    assert queried.schema.field("score").type == pa.float32()
    assert queried.sort_by("id")["score"].to_pylist() == table.sort_by("id")["score"].to_pylist()


def test_unrepresentable_value_names_column_and_row_key(mysql_ctx, mysql_exec):
    mysql_exec(
        "CREATE TABLE legacy (id INT PRIMARY KEY, d DATE NULL)",
        "SET SESSION sql_mode = ''",  # the zero date only gets in without strict mode
        "INSERT INTO legacy VALUES (1, '2024-01-01'), (7, '0000-00-00')",
    )
    reader, _ = run(mysql_ctx, table="legacy")
    with pytest.raises(StepError, match=r"column 'd' at row with id=7: value '0000-00-00'"):
        reader.read_all()


def test_bad_sql_and_config_errors_are_one_sentence(mysql_ctx, movies):
    with pytest.raises(StepError, match="exactly one of 'query' or 'table'"):
        run(mysql_ctx)
    with pytest.raises(StepError, match=r"the query failed: .*doesn't exist"):
        run(mysql_ctx, table="nope")
    with pytest.raises(StepError, match="not a valid name"):
        run(mysql_ctx, table="movies; drop")


def test_null_only_and_empty_results(mysql_ctx, movies):
    table = run(mysql_ctx, table="movies", where="id > 100")[0].read_all()
    assert table.num_rows == 0 and table.schema.field("title").type == pa.string()


def test_an_abandoned_stream_releases_its_connection(mysql_ctx, movies, mysql_test_db):
    import gc
    import threading

    def sessions() -> list[tuple]:
        return movies(
            "SELECT id FROM information_schema.processlist"
            f" WHERE db = '{mysql_test_db['database']}' AND id <> CONNECTION_ID()"
        )

    reader, _ = run(mysql_ctx, table="movies", batch_size=1)
    assert sessions() == []  # nothing is held before the consumer pulls
    assert reader.read_next_batch().num_rows == 1
    assert len(sessions()) == 1
    del reader
    gc.collect()
    assert sessions() == []
    assert not [t for t in threading.enumerate() if t.name.startswith("mysql-fetch-")]


def test_query_limit_keeps_the_query_order(mysql_ctx, movies):
    reader, recorded = run(
        mysql_ctx, query="SELECT id FROM movies ORDER BY id DESC", limit=3, batch_size=2
    )
    assert reader.read_all()["id"].to_pylist() == [5, 4, 3]
    assert recorded.metric("rows_read") == 3


def test_executable_mariadb_comment_cannot_hide_a_side_effect(mysql_ctx, movies):
    # MariaDB runs the body of `/*M! … */`; here it would read a file on the server.
    query = "SELECT /*M! LOAD_FILE('/etc/hostname') AS */ id FROM movies"
    with pytest.raises(StepError, match=r"read-only queries: .*load_file"):
        run(mysql_ctx, query=query)


def test_trailing_comment_in_where_does_not_drop_the_limit(mysql_ctx, movies):
    reader, _ = run(mysql_ctx, table="movies", columns=["id"], where="id > 1 -- not Alien",
                    limit=2)  # fmt: skip
    assert reader.read_all()["id"].to_pylist() == [2, 3]


def test_query_ending_in_a_comment_runs(mysql_ctx, movies):
    reader, _ = run(mysql_ctx, query="SELECT id FROM movies ORDER BY id # every movie")
    assert reader.read_all()["id"].to_pylist() == [1, 2, 3, 4, 5]


def test_json_marking_is_per_table_in_table_mode(mysql_ctx, mysql_exec, mysql_test_db):
    other = f"{mysql_test_db['database']}_other"
    mysql_exec(
        "CREATE TABLE docs (id INT PRIMARY KEY, doc JSON)",
        "CREATE TABLE notes (id INT PRIMARY KEY, doc LONGTEXT)",
        f"CREATE DATABASE `{other}`",
    )
    try:
        mysql_exec(f"CREATE TABLE `{other}`.events (id INT PRIMARY KEY, payload JSON)")
        notes = run(mysql_ctx, table="notes")[0].schema.field("doc")
        events = run(mysql_ctx, table=f"{other}.events")[0].schema.field("payload")
    finally:
        mysql_exec(f"DROP DATABASE `{other}`")
    assert notes.metadata is None  # plain text: a JSON column named `doc` elsewhere is no reason
    assert events.metadata == {b"osiris.type": b"json"}


def test_emoji_survive_a_connection_charset_of_utf8(tmp_path, movies, mysql_test_db):
    from osiris.testing import make_context

    ctx, _ = make_context(tmp_path, step_id="s", connection={**mysql_test_db, "charset": "utf8"})
    out = MySQLExtractor().run(step_id="s", config={"table": "movies", "where": "id = 2"},
                               inputs={}, ctx=ctx)  # fmt: skip
    assert out["df"].read_all()["title"].to_pylist() == ["Amélie 🎬"]
