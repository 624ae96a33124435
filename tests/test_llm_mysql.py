"""osiris-llm's operations and MCP server on the movies database in the real local MariaDB.

The connection uses a MariaDB user made for the test with a planted password: it must never
appear in any result, resource, session file or error.
"""

from __future__ import annotations

import json
import secrets
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.mysql

ROOT = Path(__file__).resolve().parents[1]
MOVIES_SQL = ROOT / "tests" / "fixtures" / "movies_mysql.sql"
PASSWORD = "Mcp-Planted-" + "9d41e0c7b2"
TABLES = ["actors", "directors", "movie_actors", "movies", "reviews"]

PIPELINE = """\
oml_version: "0.1.0"
name: movies-per-director
steps:
  - id: extract_movies
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.movies", table: movies}
  - id: per_director
    component: duckdb.processor
    mode: transform
    needs: [extract_movies]
    config:
      query: SELECT director_id, CAST(count(*) AS BIGINT) AS movies FROM input_df GROUP BY 1 ORDER BY 1
  - id: write_csv
    component: filesystem.csv_writer
    mode: write
    needs: [per_director]
    config: {path: output/per_director.csv}
"""


@pytest.fixture
def movies_project(tmp_path, monkeypatch, mysql) -> Path:
    """A project whose @mysql.movies connection logs in as a fresh user with a planted password."""
    pytest.importorskip("osiris_driver_mysql")
    pytest.importorskip("osiris_driver_filesystem")
    database = mysql.database("osiris_mcp", MOVIES_SQL)
    user = f"osiris_mcp_{secrets.token_hex(4)}"
    hosts = ("localhost", "127.0.0.1", "%")
    for host in hosts:
        mysql.sql(
            None,
            f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT ALL ON `{database}`.* TO '{user}'@'{host}'",
        )
    project = tmp_path / "project"
    project.mkdir()
    (project / "osiris_connections.yaml").write_text(
        textwrap.dedent(f"""\
            version: 1
            connections:
              mysql:
                movies:
                  default: true
                  host: 127.0.0.1
                  port: 3306
                  database: {database}
                  user: {user}
                  password: ${{MCP_MYSQL_PASSWORD}}
            """),
        encoding="utf-8",
    )
    (project / ".env").write_text(f"MCP_MYSQL_PASSWORD={PASSWORD}\n", encoding="utf-8")
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("MCP_MYSQL_PASSWORD", raising=False)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    yield project
    for host in hosts:
        mysql.sql(None, f"DROP USER IF EXISTS '{user}'@'{host}'")


def _no_secret(value) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    assert PASSWORD not in text


def test_operations_on_the_movies_database(movies_project):
    from osiris_llm import operations as ops

    ws = ops.Workspace(movies_project)
    (listing,) = ops.list_connections(ws)
    assert listing["reference"] == "@mysql.movies" and listing["secret_fields"] == ["password"]
    (doctor,) = ops.doctor_connections(ws)
    assert doctor["ok"] is True, doctor

    found = ops.discover(ws, "@mysql.movies")
    assert sorted(t["name"] for t in found["tables"]) == TABLES
    movies = next(t for t in found["tables"] if t["name"] == "movies")
    assert movies["primary_key"] == ["movie_id"] and "samples" not in movies
    assert ops.discover(ws, "@mysql.movies", tables=["movies"])["tables"][0]["name"] == "movies"

    rows = ops.sample(ws, "@mysql.movies", "directors", limit=3)
    assert len(rows["rows"]) == 3 and "name" in rows["columns"]

    saved = ops.save_oml(ws, "movies.yaml", PIPELINE)
    assert saved["saved"] is True, saved
    result = ops.run_pipeline(ws, "movies.yaml")
    assert result["ok"] is True, result
    assert result["steps"]["extract_movies"]["rows"] == 10
    assert result["rows_written"] == 6
    csv = (movies_project / "output" / "per_director.csv").read_text().splitlines()
    assert csv == ['"director_id","movies"', "1,2", "2,2", "3,2", "4,2", "5,1", "6,1"]
    assert ops.show_run(ws, result["session"])["rows_written"] == 6

    for value in (listing, doctor, found, rows, result, ops.list_runs(ws)):
        _no_secret(value)
    for path in (movies_project / "logs").rglob("*"):
        if path.is_file():
            _no_secret(path.read_text(errors="replace"))


def test_a_wrong_password_is_reported_without_it(movies_project):
    from osiris_llm import operations as ops

    (movies_project / ".env").write_text("MCP_MYSQL_PASSWORD=Wrong-Planted-4412\n")
    ws = ops.Workspace(movies_project)
    (doctor,) = ops.doctor_connections(ws, "@mysql.movies")
    assert doctor["ok"] is False and doctor["category"] == "auth"
    assert "Wrong-Planted-4412" not in json.dumps(doctor)


def test_mcp_server_over_stdio_on_the_movies_database(movies_project):
    """Every tool through the SDK's real client against `osiris mcp serve` (subprocess)."""
    pytest.importorskip("mcp")
    import anyio

    texts: list[str] = []
    progress: list[str | None] = []

    async def on_progress(done, total, message):
        progress.append(message)

    async def call(client, tool, arguments, **options):
        result = await client.call_tool(tool, arguments, **options)
        texts.append(result.content[0].text)
        assert not result.is_error, (tool, result.content[0].text)
        return json.loads(result.content[0].text)

    async def main():
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        server = StdioServerParameters(
            command=str(Path(sys.executable).with_name("osiris")),
            args=["mcp", "serve", "--project", str(movies_project)],
        )
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            assert len((await client.list_tools()).tools) >= 12
            (conn,) = (await call(client, "connections_list", {}))["connections"]
            assert conn["reference"] == "@mysql.movies"
            (check,) = (await call(client, "connections_doctor", {"reference": "@mysql"}))[
                "results"
            ]
            assert check["ok"] is True
            names = {c["name"] for c in (await call(client, "components_list", {}))["components"]}
            assert {"mysql.extractor", "filesystem.csv_writer", "duckdb.processor"} <= names
            spec = await call(client, "component_get", {"name": "mysql.extractor"})
            assert spec["x-query-policy"] == "read-only"
            found = await call(client, "discover", {"reference": "@mysql.movies", "samples": 2})
            assert sorted(t["name"] for t in found["tables"]) == TABLES
            directors = next(t for t in found["tables"] if t["name"] == "directors")
            assert len(directors["samples"]) == 2
            await call(client, "oml_schema", {})
            assert (await call(client, "oml_validate", {"oml": PIPELINE}))["valid"] is True
            assert (await call(client, "oml_save", {"path": "p/movies.yaml", "oml": PIPELINE}))[
                "saved"
            ]
            assert (await call(client, "compile", {"path": "p/movies.yaml"}))["ok"] is True
            ran = await call(
                client, "run", {"path": "p/movies.yaml"}, progress_callback=on_progress
            )
            assert ran["ok"] is True and ran["rows_written"] == 6
            assert ran["steps"]["extract_movies"]["rows"] == 10
            runs = (await call(client, "runs_list", {"limit": 5}))["runs"]
            assert runs[0]["session"] == ran["session"]
            shown = await call(client, "run_show", {"session": ran["session"]})
            assert shown["steps"]["write_csv"]["rows"] == 6
            aiop = await call(client, "aiop_get", {"session": ran["session"]})
            assert aiop["evidence"]["totals"]["rows_written"] == 6
            for resource in (await client.list_resources()).resources:
                read = await client.read_resource(resource.uri)
                texts.extend(c.text for c in read.contents)
            prompt = await client.get_prompt("author_pipeline", {})
            texts.append(prompt.messages[0].content.text)
            assert "mysql.extractor" in texts[-1]

    anyio.run(main)
    assert "write_csv done, 6 rows" in progress
    csv = (movies_project / "p" / "output" / "per_director.csv").read_text().splitlines()
    assert csv[1:] == ["1,2", "2,2", "3,2", "4,2", "5,1", "6,1"]
    for text in texts:
        _no_secret(text)
    for path in (movies_project / "logs").rglob("*"):
        if path.is_file():
            _no_secret(path.read_text(errors="replace"))
