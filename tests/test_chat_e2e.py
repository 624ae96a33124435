"""``osiris chat`` end to end on the real MariaDB movies database, for both providers: the real
openai/anthropic SDKs against the local test server, discovery of the real tables, an invalid
proposal (a DELETE the read-only guard refuses) regenerated once, compile, approval, the run,
and the rows in the target database. A MySQL user with a planted password proves that no
secret reaches the model or any file of the chat."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli
from osiris_llm.testing import LLMTestServer, Turn

FIXTURE = Path(__file__).parent / "fixtures" / "movies_mysql.sql"
PLANTED = "Pl4nted-" + secrets.token_hex(6)

PIPELINE = """\
oml_version: "0.1.0"
name: movies-director-summary
description: Copy directors and write a per-director summary.
steps:
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.db_movies", QUERY_OR_TABLE}
  - id: extract-directors
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.db_movies", table: directors}
  - id: copy-directors
    component: mysql.writer
    mode: write
    needs: [extract-directors]
    config: {connection: "@mysql.target", table: directors, mode: replace, create_table: true,
             primary_key: [director_id]}
  - id: director-summary
    component: duckdb.processor
    mode: transform
    needs: [extract-movies, extract-directors]
    config:
      query: |
        SELECT d.director_id, d.name, CAST(count(m.movie_id) AS BIGINT) AS movies
        FROM df_extract_directors d LEFT JOIN df_extract_movies m USING (director_id)
        GROUP BY d.director_id, d.name ORDER BY d.director_id
  - id: write-summary
    component: mysql.writer
    mode: write
    needs: [director-summary]
    config: {connection: "@mysql.target", table: director_summary, mode: replace,
             create_table: true, primary_key: [director_id]}
"""
INVALID = PIPELINE.replace("QUERY_OR_TABLE", 'query: "SELECT * FROM movies; DELETE FROM movies"')
VALID = PIPELINE.replace("QUERY_OR_TABLE", "table: movies")


@pytest.fixture
def movies_project(mysql, tmp_path, monkeypatch):
    """The movies database, an empty target, a user whose password is the planted secret."""
    source = mysql.database("chatsrc", FIXTURE)
    target = mysql.database("chatdst")
    user = f"chat_{secrets.token_hex(4)}"
    hosts = ("localhost", "127.0.0.1")
    for host in hosts:
        mysql.sql(None, f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PLANTED}'")
        for db in (source, target):
            mysql.sql(None, f"GRANT ALL ON `{db}`.* TO '{user}'@'{host}'")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(f"CHAT_E2E_PASSWORD={PLANTED}\n")
    entry = "host: 127.0.0.1\n      port: 3306\n      user: " + user
    (project / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  mysql:\n"
        f"    db_movies:\n      {entry}\n      database: {source}\n"
        "      password: ${CHAT_E2E_PASSWORD}\n"
        f"    target:\n      {entry}\n      database: {target}\n"
        "      password: ${CHAT_E2E_PASSWORD}\n"
    )
    for name in list(os.environ):
        if name.startswith(("OSIRIS_LLM_", "OSIRIS_HOME", "OSIRIS_LOGS")) or name.endswith(
            "_BASE_URL"
        ):
            monkeypatch.delenv(name)
    monkeypatch.delenv("CHAT_E2E_PASSWORD", raising=False)
    monkeypatch.chdir(project)
    yield project, source, target
    for host in hosts:
        mysql.sql(None, f"DROP USER IF EXISTS '{user}'@'{host}'")


def script() -> list[Turn]:
    return [
        Turn(text="Let me see the connections.", tool_calls=[("list_connections", {})]),
        Turn(tool_calls=[("discover", {"connection": "@mysql.db_movies"})]),
        Turn(tool_calls=[("sample", {"connection": "@mysql.db_movies", "table": "directors"})]),
        Turn(tool_calls=[("get_component", {"name": "mysql.writer"})]),
        Turn(tool_calls=[("propose_pipeline", {"oml": INVALID, "summary": "Summary."})]),
        Turn(tool_calls=[("propose_pipeline", {"oml": VALID, "summary": "Summary."})]),
    ]


def osiris(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_chat_builds_and_runs_the_movies_pipeline(movies_project, mysql, monkeypatch, kind):
    project, source, target = movies_project
    with LLMTestServer() as server:
        server.script(*script())
        url = server.openai_url if kind == "openai" else server.anthropic_url
        monkeypatch.setenv("OPENAI_API_KEY" if kind == "openai" else "ANTHROPIC_API_KEY", "sk-t")
        message = "copy every table of @mysql.db_movies, with a per-director summary"
        flags = ["--provider", kind, "--base-url", url, "--json"]
        code, out, err = osiris("chat", "-m", message, *flags)
        assert code == 0, err
        data = json.loads(out)
        assert data["state"] == "AWAITING_APPROVAL", data
        assert data["pipeline"]["path"] == "pipelines/movies-director-summary.yaml"

        # discovery read the real tables; the invalid query came back with the guard's words
        discovered = json.loads(_tool_result(server.requests[2]["body"], kind, 1))
        names = {t["name"] for t in discovered["tables"]}
        assert names == {"actors", "directors", "movie_actors", "movies", "reviews"}
        regen = server.requests[5]["raw"]
        assert "read-only" in regen and "DELETE" in regen

        code, out, err = osiris("chat", "--approve", "--session", data["session_id"], "--json")
        assert code == 0, err
        ran = json.loads(out)
        assert ran["state"] == "COMPLETE"
        assert ran["run"]["ok"] is True
        assert ran["run"]["rows_written"] == 12  # 6 directors copied + 6 summary rows

    expected = mysql.sql(
        source,
        "SELECT d.director_id, d.name, count(m.movie_id) FROM directors d"
        " LEFT JOIN movies m USING (director_id) GROUP BY d.director_id, d.name ORDER BY 1",
    )
    rows = mysql.sql(target, "SELECT director_id, name, movies FROM director_summary ORDER BY 1")
    assert rows == expected and len(rows) == 6
    assert mysql.sql(target, "SELECT * FROM directors ORDER BY 1") == mysql.sql(
        source, "SELECT * FROM directors ORDER BY 1"
    )

    for request in server.requests:
        assert PLANTED not in request["raw"]
    written = [p for p in project.rglob("*") if p.is_file() and p.name != ".env"]
    assert any(p.name == "chat.sqlite" for p in written)
    assert any("run_" in str(p) for p in written)
    for path in written:
        assert PLANTED.encode() not in path.read_bytes(), path


def _tool_result(body: dict, kind: str, index: int) -> str:
    """The text of the index-th tool result in a request body of either protocol."""
    if kind == "openai":
        return [m["content"] for m in body["messages"] if m["role"] == "tool"][index]
    blocks = [
        b
        for m in body["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    return blocks[index]["content"]


SUPABASE_TABLES = {
    "directors": "director_id",
    "actors": "actor_id",
    "movies": "movie_id",
    "movie_actors": "movie_id, actor_id",
    "reviews": "review_id",
}


def _to_supabase() -> str:
    steps = []
    for table, key in SUPABASE_TABLES.items():
        slug = table.replace("_", "-")
        steps.append(
            f"  - id: extract-{slug}\n    component: mysql.extractor\n    mode: read\n"
            f'    config: {{connection: "@mysql.db_movies", table: {table}}}\n'
            f"  - id: write-{slug}\n    component: supabase.writer\n    mode: write\n"
            f"    needs: [extract-{slug}]\n"
            f'    config: {{connection: "@supabase.default", table: {table},'
            f" write_mode: append, primary_key: [{key}], create_if_missing: true}}\n"
        )
    summary = """\
  - id: director-summary
    component: duckdb.processor
    mode: transform
    needs: [extract-movies, extract-directors]
    config:
      query: |
        SELECT d.director_id, d.name, CAST(count(m.movie_id) AS BIGINT) AS movies
        FROM df_extract_directors d LEFT JOIN df_extract_movies m USING (director_id)
        GROUP BY d.director_id, d.name
  - id: write-summary
    component: supabase.writer
    mode: write
    needs: [director-summary]
    config: {connection: "@supabase.default", table: director_summary, write_mode: replace,
             primary_key: [director_id], create_if_missing: true}
"""
    return 'oml_version: "0.1.0"\nname: movies-to-supabase\nsteps:\n' + "".join(steps) + summary


def test_the_issue_scenario_into_supabase(movies_project, mysql, postgres, monkeypatch):
    """ "copy every table of @mysql.db_movies into Supabase, with a per-director summary"."""
    project, source, _target = movies_project
    schema, pg = postgres.schema("chat_sb")
    # trust auth ignores the password, so the planted secret can sit inside the db_url
    db_url = f"postgresql://postgres:{PLANTED}@127.0.0.1:5432/test"
    with (project / "osiris_connections.yaml").open("a") as f:
        f.write(
            f"  supabase:\n    default:\n      db_url: ${{CHAT_SB_DB_URL}}\n      schema: {schema}\n"
        )
    with (project / ".env").open("a") as f:
        f.write(f"CHAT_SB_DB_URL={db_url}\n")
    with LLMTestServer() as server:
        server.script(
            Turn(tool_calls=[("list_connections", {})]),
            Turn(tool_calls=[("discover", {"connection": "@mysql.db_movies"})]),
            Turn(tool_calls=[("get_component", {"name": "supabase.writer"})]),
            Turn(
                text="Here is the pipeline.",
                tool_calls=[("propose_pipeline", {"oml": _to_supabase(), "summary": "All."})],
            ),
        )
        monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
        message = "copy every table of @mysql.db_movies into Supabase, with a per-director summary"
        code, out, err = osiris(
            "chat", "-m", message, "--base-url", server.openai_url, "--yes", "--json"
        )
        assert code == 0, err
        data = json.loads(out)
        assert data["state"] == "COMPLETE" and data["run"]["ok"] is True
        listing = json.loads(_tool_result(server.requests[1]["body"], "openai", 0))
        supabase = next(c for c in listing["connections"] if c["family"] == "supabase")
        assert supabase["secret_fields"] == ["db_url"] and "db_url" not in supabase["fields"]
        for request in server.requests:
            assert PLANTED not in request["raw"]
    total = 0
    for table in SUPABASE_TABLES:
        (count,) = pg.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
        assert [(count,)] == mysql.sql(source, f"SELECT count(*) FROM {table}"), table
        total += count
    summary = pg.execute(
        f'SELECT director_id, name, movies FROM "{schema}".director_summary ORDER BY 1'
    ).fetchall()
    expected = mysql.sql(
        source,
        "SELECT d.director_id, d.name, count(m.movie_id) FROM directors d"
        " LEFT JOIN movies m USING (director_id) GROUP BY d.director_id, d.name ORDER BY 1",
    )
    assert [tuple(r) for r in summary] == [tuple(r) for r in expected]
    assert data["run"]["rows_written"] == total + len(expected)
    for path in (p for p in project.rglob("*") if p.is_file() and p.name != ".env"):
        assert PLANTED.encode() not in path.read_bytes(), path


def test_sql_mode_runs_the_given_query(movies_project, mysql, monkeypatch):
    _project, source, target = movies_project
    query = "SELECT director_id, name FROM directors WHERE country = 'Norway'"
    oml = f"""\
oml_version: "0.1.0"
name: norway-directors
steps:
  - id: read-norway
    component: mysql.extractor
    mode: read
    config: {{connection: "@mysql.db_movies", query: "{query}"}}
  - id: write-norway
    component: mysql.writer
    mode: write
    needs: [read-norway]
    config: {{connection: "@mysql.target", table: norway, mode: replace, create_table: true,
             primary_key: [director_id]}}
"""
    with LLMTestServer() as server:
        server.script(Turn(tool_calls=[("propose_pipeline", {"oml": oml, "summary": "s"})]))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
        code, out, err = osiris(
            "chat", "--sql", query, "--connection", "@mysql.db_movies",
            "-m", "write it into @mysql.target table norway",
            "--base-url", server.openai_url, "--yes", "--json",
        )  # fmt: skip
        assert code == 0, err
        assert query in server.requests[0]["body"]["messages"][0]["content"]
    data = json.loads(out)
    assert data["state"] == "COMPLETE" and data["run"]["rows_written"] == 1
    assert mysql.sql(target, "SELECT director_id, name FROM norway") == mysql.sql(source, query)
