"""The supabase family: doctor categories and discovery, over REST and over the database."""

from __future__ import annotations

import socket

import pytest
from osiris_driver_supabase.family import SupabaseFamily
from postgrest_server import make_jwt

pytestmark = pytest.mark.postgres


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_doctor_ok_over_rest_and_database(sb_rest, sb_db_connection):
    result = SupabaseFamily().doctor({**sb_rest.connection(), **sb_db_connection})
    assert result.ok and result.category == "ok"
    assert set(result.details) == {"rest", "database"} and "PostgreSQL" in result.message


def test_doctor_categories(sb_rest, sb_schema):
    family = SupabaseFamily()
    bad_key = make_jwt("not-the-project-secret-not-the-project-secret", "service_role")
    assert family.doctor(sb_rest.connection(bad_key)).category == "auth"
    closed = {"url": f"http://127.0.0.1:{_closed_port()}", "key": "k"}
    assert family.doctor(closed).category == "network"
    no_db = family.doctor({"db_url": "postgresql://postgres@127.0.0.1:5432/osiris_no_such_db"})
    assert (no_db.ok, no_db.category) == (False, "config")
    down = family.doctor({"db_url": f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"})
    assert down.category == "network"
    assert family.doctor({"schema": "public"}).category == "config"


def test_discover_via_database_and_rest(sb_pg, sb_rest, sb_db_connection):
    sb_pg.execute(
        "CREATE TABLE movies (id int PRIMARY KEY, title text NOT NULL, budget numeric(12,2))"
    )
    sb_pg.execute("INSERT INTO movies VALUES (1, 'Alien', 11000000.00), (2, 'Heat', NULL)")
    sb_pg.execute("CREATE TABLE other (x int)")
    db = SupabaseFamily().discover(sb_db_connection, tables=["movies"], samples=1)
    (table,) = db["tables"]
    assert db["source"] == "database" and table["primary_key"] == ["id"]
    assert table["columns"] == [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "title", "type": "text", "nullable": False},
        {"name": "budget", "type": "numeric(12,2)", "nullable": True},
    ]
    assert table["samples"] == [{"id": 1, "title": "Alien", "budget": "11000000.00"}]
    rest = SupabaseFamily().discover(sb_rest.connection(), samples=2)
    names = [t["name"] for t in rest["tables"]]
    assert rest["source"] == "rest" and names == ["movies", "other"]
    movies = rest["tables"][0]
    assert movies["primary_key"] == ["id"] and movies["columns"][2] == {
        "name": "budget",
        "type": "numeric",
        "nullable": True,
    }
    assert len(movies["samples"]) == 2
