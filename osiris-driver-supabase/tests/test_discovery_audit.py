"""Audit of discover and doctor for the supabase family, against real PostgreSQL and REST."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import pytest
from osiris import discovery
from osiris.connections import load_connections
from osiris.registry import build_registry
from osiris_driver_supabase.family import SupabaseFamily

pytestmark = pytest.mark.postgres
PG_BASE = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def limited_role(sb_schema):
    """A login role that may read ``movies`` but only the ``id`` column of ``locked``."""
    import psycopg

    role = f"sb_ro_{secrets.token_hex(4)}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{sb_schema}"')
        conn.execute("CREATE TABLE movies (id int PRIMARY KEY, title text)")
        conn.execute("INSERT INTO movies VALUES (1, 'Alien')")
        conn.execute("CREATE TABLE locked (id int, secret text)")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'GRANT USAGE ON SCHEMA "{sb_schema}" TO {role}')
        conn.execute(f"GRANT SELECT ON movies TO {role}")
        conn.execute(f"GRANT SELECT (id) ON locked TO {role}")
    yield role
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_db_discovery_reports_an_unreadable_table_and_keeps_the_others(limited_role, sb_schema):
    connection = {"db_url": f"postgresql://{limited_role}@127.0.0.1:5432/test", "schema": sb_schema}
    found = SupabaseFamily().discover(connection, samples=2)
    by_name = {table["name"]: table for table in found["tables"]}
    assert by_name["movies"]["samples"] == [{"id": 1, "title": "Alien"}]
    assert "permission denied" in by_name["locked"]["error"]
    assert [c["name"] for c in by_name["locked"]["columns"]] == ["id"]


def test_rest_discovery_reports_an_unreadable_table_and_keeps_the_others(sb_rest, sb_pg):
    sb_pg.execute("CREATE TABLE movies (id int PRIMARY KEY, title text)")
    sb_pg.execute("INSERT INTO movies VALUES (1, 'Alien')")
    sb_pg.execute("CREATE TABLE locked (id int)")
    sb_pg.execute("REVOKE ALL ON locked FROM anon")
    found = SupabaseFamily().discover(sb_rest.connection(sb_rest.anon_key), samples=1)
    by_name = {table["name"]: table for table in found["tables"]}
    assert by_name["movies"]["samples"] == [{"id": 1, "title": "Alien"}]
    assert "permission denied for table locked" in by_name["locked"]["error"]
    assert by_name["locked"]["samples"] == []


def test_db_samples_are_json_safe_views_are_marked(sb_pg, sb_db_connection):
    sb_pg.execute(
        "CREATE TABLE m (id int PRIMARY KEY, f float8, ts timestamptz, d date, iv interval,"
        " b bytea, j jsonb)"
    )
    sb_pg.execute(
        "INSERT INTO m VALUES (1, 'NaN', '2024-01-02 03:04:05.5+00', 'infinity',"
        " '1 mon 2 days 03:00:00', '\\x00ff', '{\"a\": [1, 2]}'),"
        " (2, '-Infinity', NULL, '2024-01-02', '-00:00:01', NULL, NULL)"
    )
    sb_pg.execute("CREATE VIEW v AS SELECT id FROM m")
    found = SupabaseFamily().discover(sb_db_connection, samples=2)
    by_name = {table["name"]: table for table in found["tables"]}
    assert (by_name["m"]["type"], by_name["v"]["type"]) == ("table", "view")
    rows = json.loads(json.dumps(found, default=str))["tables"][0]["samples"]
    assert rows[0]["ts"] == "2024-01-02T03:04:05.500000+00:00"
    assert rows[0]["d"] == "infinity"
    assert rows[0]["iv"] == "1 mon 2 days 03:00:00"
    assert rows[1]["iv"] == "-00:00:01" and rows[1]["d"] == "2024-01-02"
    assert rows[0]["b"] == "\\x00ff" and rows[0]["j"] == {"a": [1, 2]}


def test_cli_json_is_strict_for_non_finite_floats(sb_pg, sb_schema, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from osiris.cli.main import cli

    sb_pg.execute("CREATE TABLE m (f float8)")
    sb_pg.execute("INSERT INTO m VALUES ('NaN'), ('Infinity')")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    (tmp_path / "osiris_connections.yaml").write_text(
        f"supabase:\n  db:\n    db_url: postgresql://postgres@127.0.0.1:5432/test\n"
        f"    schema: {sb_schema}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["discover", "@supabase.db", "--json"])
    assert result.exit_code == 0, result.output
    assert strict_json(result.output)["tables"][0]["samples"] == [{"f": "NaN"}, {"f": "Infinity"}]


def test_changing_the_database_in_db_url_is_a_new_cache_key(sb_pg, sb_schema, tmp_path: Path):
    sb_pg.execute("CREATE TABLE movies (id int)")
    path = tmp_path / "osiris_connections.yaml"
    path.write_text(
        f"supabase:\n  db:\n    db_url: ${{DB_URL}}\n    schema: {sb_schema}\n", encoding="utf-8"
    )
    registry = build_registry()

    def run(db_url: str) -> discovery.Discovery:
        loaded = load_connections(path, cwd=tmp_path, env={"DB_URL": db_url})
        return discovery.discover(
            loaded.resolve("@supabase.db", registry), registry, base_dir=tmp_path
        )

    first = run("postgresql://postgres:pw-one@127.0.0.1:5432/test")
    assert [t["name"] for t in first.result["tables"]] == ["movies"]
    assert run("postgresql://postgres:pw-two@127.0.0.1:5432/test").cached  # password only
    other = run("postgresql://postgres:pw-one@127.0.0.1:5432/postgres")
    assert not other.cached and other.result["tables"] == []
    for cached in tmp_path.joinpath(".osiris").rglob("*.json"):
        text = cached.read_text(encoding="utf-8")
        assert "pw-one" not in text and "pw-two" not in text


def _silent_port() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    return listener, listener.getsockname()[1]


def test_doctor_failures_have_a_latency_and_a_clear_message(sb_rest):
    family = SupabaseFamily()
    listener, port = _silent_port()
    with listener:
        silent = family.doctor(
            {"db_url": f"postgresql://postgres@127.0.0.1:{port}/test", "timeout": 1}
        )
    assert (silent.ok, silent.category) == (False, "timeout")
    assert silent.latency_ms is not None and silent.latency_ms >= 500
    no_db = family.doctor({"db_url": "postgresql://postgres@127.0.0.1:5432/osiris_no_such_db"})
    assert no_db.category == "config" and "does not exist" in no_db.message
    assert no_db.latency_ms and no_db.latency_ms > 0
    wrong_schema = family.doctor(sb_rest.connection(schema="not_exposed"))
    assert wrong_schema.category == "config"
    assert "schema" in wrong_schema.message
