"""Shared fixtures of the cross-package tests: the real local MariaDB and PostgreSQL.

Each test gets a database or schema of its own, dropped afterwards. Under ``CI=true`` a missing
server fails the test; locally it skips with the command that starts the server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_MYSQL = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"
START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _require(name: str, probe: Callable[[], None], start: str) -> None:
    try:
        probe()
    except Exception as exc:
        message = f"{name} is not reachable ({exc}); start it with: {start}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


class MySQL:
    """The local MariaDB: connections in UTC, statements, and databases made for one test."""

    server = MYSQL

    def __init__(self) -> None:
        self.made: list[str] = []

    def connect(self, database: str | None = None) -> Any:
        """An autocommit pymysql connection in UTC, as the drivers' sessions are."""
        import pymysql

        return pymysql.connect(
            **MYSQL, database=database, autocommit=True, charset="utf8mb4", connect_timeout=3,
            init_command="SET time_zone = '+00:00'",
        )  # fmt: skip

    def sql(self, database: str | None, *statements: str) -> list[tuple]:
        """Run statements on a fresh connection; the rows of the last one."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                rows: list[tuple] = []
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
                return rows
        finally:
            conn.close()

    def database(self, prefix: str, script: Path | None = None) -> str:
        """A new database, loaded from a ``;``-at-end-of-line SQL file; dropped after the test."""
        name = f"{prefix}_{secrets.token_hex(5)}"
        self.sql(None, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.made.append(name)
        if script is not None:
            self.load(name, script)
        return name

    def load(self, database: str, script: Path) -> None:
        """Run a SQL file whose statements end with ``;`` at the end of a line."""
        statements = script.read_text(encoding="utf-8").split(";\n")
        self.sql(database, *[s for s in statements if s.strip()])

    def sessions(self, database: str) -> list[int]:
        """Ids of the connections other than ours that use ``database``."""
        rows = self.sql(
            None,
            "SELECT id FROM information_schema.processlist"
            f" WHERE db = '{database}' AND id <> CONNECTION_ID()",
        )
        return [int(session) for (session,) in rows]

    def drop_made(self) -> None:
        for name in self.made:
            # A session a failed test left open would block DROP DATABASE forever: end it first.
            for session in self.sessions(name):
                self.sql(None, f"KILL {session}")
            self.sql(None, f"DROP DATABASE IF EXISTS `{name}`")


class Postgres:
    """The local PostgreSQL: schemas made for one test, each with an autocommit connection."""

    dsn = PG_DSN
    url = PG_URL

    def __init__(self) -> None:
        self.made: list[tuple[str, Any]] = []

    def schema(self, prefix: str) -> tuple[str, Any]:
        """A new schema and an autocommit psycopg connection whose search_path it is."""
        import psycopg

        schema = f"{prefix}_{secrets.token_hex(5)}"
        pg = psycopg.connect(PG_DSN, autocommit=True)
        pg.execute(f'CREATE SCHEMA "{schema}"')
        pg.execute(f'SET search_path = "{schema}"')
        self.made.append((schema, pg))
        return schema, pg

    def drop_made(self) -> None:
        for schema, pg in self.made:
            pg.execute(f'DROP SCHEMA "{schema}" CASCADE')
            pg.close()


@pytest.fixture
def mysql() -> Iterator[MySQL]:
    server = MySQL()
    _require("MariaDB on 127.0.0.1:3306", lambda: server.connect().close(), START_MYSQL)
    yield server
    server.drop_made()


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    psycopg = pytest.importorskip("psycopg")
    _require(
        "PostgreSQL on 127.0.0.1:5432",
        lambda: psycopg.connect(PG_DSN, connect_timeout=3).close(),
        START_PG,
    )
    server = Postgres()
    yield server
    server.drop_made()
