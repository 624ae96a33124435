"""The test server behaves like PostgREST for what the real client does (so REST tests mean something)."""

from __future__ import annotations

import contextlib

import pytest
from osiris_driver_supabase.connection import rest_client, settings_from
from postgrest.exceptions import APIError
from postgrest_server import make_jwt

pytestmark = pytest.mark.postgres


@pytest.fixture
def client_for(sb_rest):
    """Opens real clients for the test server with a given key; closes them afterwards."""
    with contextlib.ExitStack() as stack:

        def open_client(key: str | None = None):
            return stack.enter_context(rest_client(settings_from(sb_rest.connection(key))))

        yield open_client


@pytest.fixture
def sb_client(sb_pg, client_for):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text, score int)")
    sb_pg.execute("INSERT INTO t SELECT g, 'n' || g, g % 5 FROM generate_series(1, 30) g")
    sb_pg.execute("UPDATE t SET name = NULL WHERE id = 30")
    return client_for().table("t")


def _ids(resp):
    return [r["id"] for r in resp.data]


def test_filters(sb_client):
    t = sb_client
    assert _ids(t.select("id").eq("id", 3).execute()) == [3]
    assert len(t.select("id").neq("score", 0).execute().data) == 24
    assert _ids(t.select("id").gt("id", 28).order("id").execute()) == [29, 30]
    assert _ids(t.select("id").gte("id", 29).lte("id", 29).execute()) == [29]
    assert _ids(t.select("id").lt("id", 2).execute()) == [1]
    assert _ids(t.select("id").like("name", "n2*").order("id").execute()) == [2, *range(20, 30)]
    assert _ids(t.select("id").ilike("name", "N1_").order("id").limit(2).execute()) == [10, 11]
    assert _ids(t.select("id").is_("name", "null").execute()) == [30]
    assert _ids(t.select("id").in_("id", [4, 5, 99]).order("id", desc=True).execute()) == [5, 4]
    assert t.select("id", "name").eq("id", 1).execute().data == [{"id": 1, "name": "n1"}]


def test_range_and_exact_count(sb_client):
    resp = sb_client.select("id", count="exact").order("id").range(10, 14).execute()
    assert _ids(resp) == [11, 12, 13, 14, 15] and resp.count == 30


def test_writes(sb_client, sb_pg):
    t = sb_client
    assert t.insert({"id": 100, "name": "x"}).execute().data == [
        {"id": 100, "name": "x", "score": None}
    ]
    t.upsert(
        [{"id": 100, "name": "y", "score": 1}], on_conflict="id", ignore_duplicates=True
    ).execute()
    assert sb_pg.execute("SELECT name FROM t WHERE id = 100").fetchone() == ("x",)
    t.upsert([{"id": 100, "name": "y", "score": 1}], on_conflict="id").execute()
    assert sb_pg.execute("SELECT name, score FROM t WHERE id = 100").fetchone() == ("y", 1)
    t.update({"score": 9}).gte("id", 29).execute()
    assert sb_pg.execute("SELECT count(*) FROM t WHERE score = 9").fetchone() == (3,)
    t.delete().lt("id", 11).execute()
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone() == (21,)


def test_errors_are_postgrest_shaped(sb_client, client_for, sb_rest, sb_pg):
    with pytest.raises(APIError) as dup:
        sb_client.insert({"id": 1}).execute()
    assert dup.value.code == "23505" and "duplicate key" in dup.value.message and dup.value.details
    missing = client_for().table("nope")
    with pytest.raises(APIError) as unknown:
        missing.select("*").execute()
    assert unknown.value.code == "PGRST205"
    forged = make_jwt("wrong-secret-wrong-secret-wrong-secret-wrong", "service_role")
    with pytest.raises(APIError) as bad:
        client_for(forged).table("t").select("*").execute()
    assert bad.value.code == "PGRST301"
    anon = client_for(sb_rest.anon_key).table("t")
    assert len(anon.select("id").execute().data) == 30  # anon may read (default grant)...
    with pytest.raises(APIError) as denied:
        anon.insert({"id": 500}).execute()  # ...but not write
    assert denied.value.code == "42501"
