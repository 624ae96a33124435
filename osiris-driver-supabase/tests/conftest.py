"""Fixtures: a private schema in the real local PostgreSQL per test, and its DSN."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

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


JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


@dataclass
class RestProject:
    """A local stand-in for a Supabase project: REST URL, keys, the server, the schema."""

    url: str
    service_key: str
    anon_key: str
    schema: str
    server: object

    def connection(self, key: str | None = None, **extra: object) -> dict[str, object]:
        return {"url": self.url, "key": key or self.service_key, "schema": self.schema, **extra}


@pytest.fixture
def sb_rest(sb_schema: str) -> Iterator[RestProject]:
    """The PostgREST-compatible test server over the test schema, with Supabase's two roles."""
    import psycopg
    from postgrest_server import PostgrestServer, make_jwt

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        for role, extra in (("anon", ""), ("service_role", " BYPASSRLS")):
            # Roles are cluster-wide: an earlier (or parallel) test may have created them.
            with contextlib.suppress(
                psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation
            ):
                conn.execute(f"CREATE ROLE {role} NOLOGIN{extra}")
        conn.execute(f'GRANT USAGE ON SCHEMA "{sb_schema}" TO anon, service_role')
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{sb_schema}" GRANT ALL ON TABLES TO service_role'
        )
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{sb_schema}" GRANT SELECT ON TABLES TO anon'
        )
    server = PostgrestServer(dsn=PG_BASE, jwt_secret=JWT_SECRET, schemas=[sb_schema])
    url = server.start()
    yield RestProject(
        url, make_jwt(JWT_SECRET, "service_role"), make_jwt(JWT_SECRET, "anon"), sb_schema, server
    )
    server.stop()


@pytest.fixture(scope="session")
def transaction_pooler() -> Iterator[str]:
    """The DSN of a real transaction pooler (PgBouncer, port 6543) in front of database ``test``."""
    from transaction_pooler import INSTALL, TransactionPooler, executable

    _require_postgres()
    binary = executable()
    if binary is None:
        message = f"pgbouncer is not installed; install it with: {INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    pooler = TransactionPooler(binary)
    pooler.start()
    yield pooler.dsn
    pooler.stop()
