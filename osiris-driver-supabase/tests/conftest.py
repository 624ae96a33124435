"""Fixtures: a private schema in the real local PostgreSQL per test, and its DSN."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_BASE = "host=127.0.0.1 port=5432 user=postgres dbname=test"
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _require_postgres() -> None:
    import psycopg

    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL on 127.0.0.1:5432 is not reachable ({exc}); start it with: {START}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def sb_schema() -> Iterator[str]:
    """A fresh schema (random name, so parallel runs never collide), dropped afterwards."""
    import psycopg

    _require_postgres()
    name = f"sb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def sb_pg(sb_schema: str) -> Iterator[object]:
    """An autocommit psycopg connection with ``search_path`` set to the test schema."""
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{sb_schema}"')
        yield conn


@pytest.fixture
def sb_db_connection(sb_schema: str) -> dict[str, str]:
    """A supabase connection entry that reaches the test schema through the database only."""
    return {"db_url": "postgresql://postgres@127.0.0.1:5432/test", "schema": sb_schema}
