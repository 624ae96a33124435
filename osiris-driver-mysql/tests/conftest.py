"""Fixtures: a real MariaDB/MySQL server and a private database per test module."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

SERVER = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"


def _root() -> Any:
    import pymysql

    return pymysql.connect(**SERVER, autocommit=True, charset="utf8mb4", connect_timeout=3)


@pytest.fixture(scope="session")
def mysql_server_root() -> dict[str, Any]:
    """Connection fields for root on the local server; skip (fail under CI) when it is down."""
    try:
        _root().close()
    except Exception as exc:
        message = f"MariaDB on 127.0.0.1:3306 is not reachable ({exc}); start it with: {START}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return dict(SERVER)


@pytest.fixture
def mysql_test_db(mysql_server_root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A fresh database ``osiris_test_<random>``, dropped afterwards; yields connection fields."""
    name = f"osiris_test_{secrets.token_hex(5)}"
    conn = _root()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield {**mysql_server_root, "database": name}
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def run_sql(connection: dict[str, Any], *statements: str, params: Any = None) -> list[tuple]:
    """Run statements on the test database; returns the rows of the last one."""
    import pymysql

    conn = pymysql.connect(
        **{k: connection[k] for k in ("host", "port", "user", "password", "database")},
        autocommit=True,
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
    )
    try:
        with conn.cursor() as cur:
            rows: list[tuple] = []
            for statement in statements:
                cur.execute(statement, params)
                rows = list(cur.fetchall())
            return rows
    finally:
        conn.close()


@pytest.fixture
def mysql_exec(mysql_test_db: dict[str, Any]) -> Any:
    """``mysql_exec(*statements, params=None)`` on the test database."""
    return lambda *statements, params=None: run_sql(mysql_test_db, *statements, params=params)


@pytest.fixture
def mysql_ctx(tmp_path: Any, mysql_test_db: dict[str, Any]) -> Any:
    """``mysql_ctx(step_id)`` -> (StepContext, Recorded) connected to the test database."""
    from osiris.testing import make_context

    return lambda step_id="step": make_context(tmp_path, step_id=step_id, connection=mysql_test_db)
