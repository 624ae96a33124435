"""The mysql family: doctor categories, discovery, special passwords and the plugin's import cost."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys

import pytest
from osiris_driver_mysql.family import MySQLFamily

pytestmark = pytest.mark.mysql
PASSWORD = "p@ss:w/rd%"


@pytest.fixture
def mysql_user(mysql_test_db, mysql_exec):
    """A user with a password full of URL-special characters, allowed on the test database."""
    user = f"osiris_u_{secrets.token_hex(4)}"
    mysql_exec(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", params=(PASSWORD,))
    mysql_exec(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY %s", params=(PASSWORD,))
    for host in ("%", "localhost"):
        mysql_exec(f"GRANT SELECT ON `{mysql_test_db['database']}`.* TO '{user}'@'{host}'")
    yield {**mysql_test_db, "user": user, "password": PASSWORD}
    for host in ("%", "localhost"):
        mysql_exec(f"DROP USER IF EXISTS '{user}'@'{host}'")


def test_doctor_ok_reports_version_and_latency(mysql_test_db):
    result = MySQLFamily().doctor(mysql_test_db)
    assert result.ok and result.category == "ok"
    assert "MariaDB" in result.details["version"] or result.details["version"][0].isdigit()
    assert result.latency_ms is not None and result.latency_ms >= 0


def test_doctor_with_special_password(mysql_user):
    assert MySQLFamily().doctor(mysql_user).ok


def test_doctor_wrong_password_is_auth(mysql_user):
    result = MySQLFamily().doctor({**mysql_user, "password": "wrong"})
    assert (result.ok, result.category) == (False, "auth")
    assert "wrong" not in result.message


def test_doctor_closed_port_is_network(mysql_test_db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = MySQLFamily().doctor({**mysql_test_db, "port": port, "connect_timeout": 2})
    assert (result.ok, result.category) == (False, "network")


def test_doctor_silent_server_is_timeout(mysql_test_db):
    with socket.socket() as silent:  # accepts connections (kernel backlog) but never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        result = MySQLFamily().doctor({**mysql_test_db, "port": port, "connect_timeout": 1})
    assert (result.ok, result.category) == (False, "timeout")


def test_doctor_unknown_database_is_config(mysql_test_db):
    result = MySQLFamily().doctor({**mysql_test_db, "database": "osiris_no_such_db"})
    assert (result.ok, result.category) == (False, "config")
    assert "osiris_no_such_db" in result.message


def test_both_readers_connect_with_a_special_password(tmp_path, mysql_user):
    """No URL is ever built, so a password full of URL syntax reaches the server intact."""
    from osiris.testing import make_context
    from osiris_driver_mysql.extractor import MySQLExtractor

    ctx, _ = make_context(tmp_path, connection=mysql_user)
    out = MySQLExtractor().run(step_id="s", config={"query": "SELECT 1 AS one"}, inputs={}, ctx=ctx)
    assert out["df"].read_all().to_pylist() == [{"one": 1}]


def test_discover_lists_tables_views_keys_and_samples(mysql_test_db, mysql_exec):
    mysql_exec(
        "CREATE TABLE movies (id INT PRIMARY KEY, title VARCHAR(50) NOT NULL, price DECIMAL(6,2),"
        " seen DATETIME(6), raw VARBINARY(4), doc JSON, length TIME, UNIQUE KEY (title))",
        "INSERT INTO movies VALUES (1, 'Zoë 🎬', 9.99, '2024-01-02 03:04:05.000006', x'00ff',"
        " '{\"a\": 1}', '-100:00:00'), (2, 'B', NULL, NULL, NULL, NULL, NULL)",
        "CREATE TABLE pairs (a INT, b INT, PRIMARY KEY (a, b))",
        "CREATE VIEW cheap AS SELECT id, title FROM movies WHERE price < 10",
    )
    found = MySQLFamily().discover(mysql_test_db, samples=1)
    json.dumps(found)  # JSON-safe
    tables = {t["name"]: t for t in found["tables"]}
    assert set(tables) == {"movies", "pairs", "cheap"}
    assert tables["cheap"]["type"] == "view" and tables["movies"]["type"] == "table"
    assert tables["pairs"]["primary_key"] == ["a", "b"]
    columns = {c["name"]: c for c in tables["movies"]["columns"]}
    assert columns["id"]["key"] == "primary" and columns["title"]["key"] == "unique"
    assert columns["title"]["nullable"] is False and columns["price"]["type"] == "decimal(6,2)"
    sample = tables["movies"]["samples"][0]
    assert sample["title"] == "Zoë 🎬" and sample["price"] == "9.99"
    assert sample["seen"] == "2024-01-02T03:04:05.000006" and sample["raw"] == "0x00ff"
    assert sample["length"] == "-100:00:00.000000"
    only = MySQLFamily().discover(mysql_test_db, tables=["pairs"], samples=0)
    assert [t["name"] for t in only["tables"]] == ["pairs"] and only["tables"][0]["samples"] == []


def test_schema_and_secret_fields():
    family = MySQLFamily()
    assert family.name == "mysql" and family.secret_fields == ("password",)
    assert set(family.schema["required"]) == {"host", "database", "user"}


def test_plugin_module_is_import_cheap():
    code = (
        "import sys, osiris_driver_mysql.plugin as p;"
        "heavy = {'sqlalchemy', 'pymysql', 'MySQLdb', 'pyarrow', 'pandas'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registry_builds_with_both_components():
    from osiris.registry import build_registry

    registry = build_registry()
    extractor = registry.component("mysql.extractor")
    assert extractor.distribution == "osiris-driver-mysql"
    assert extractor.spec["x-query-policy"] == "read-only"
    assert registry.component("mysql.writer").load_driver_class().__name__ == "MySQLWriter"
    assert registry.family("mysql") is not None


def test_connect_options_are_mapped():
    import ssl

    from osiris_driver_mysql.connect import connect_kwargs

    base = {"host": "db", "port": "3307", "user": "u", "password": PASSWORD, "database": "d"}
    kwargs = connect_kwargs(base)
    assert (kwargs["port"], kwargs["password"], kwargs["charset"]) == (3307, PASSWORD, "utf8mb4")
    assert kwargs["init_command"] == "SET NAMES utf8mb4, time_zone = '+00:00'"
    assert "ssl" not in kwargs
    assert connect_kwargs({**base, "ssl": True})["ssl"] == {"check_hostname": False}
    verified = connect_kwargs({**base, "ssl": {"ca": "/ca.pem"}})["ssl"]
    assert verified == {"ca": "/ca.pem"}
    loose = connect_kwargs({**base, "ssl": {"ca": "/ca.pem", "verify_cert": False}})["ssl"]
    assert loose["verify_mode"] == ssl.CERT_NONE and loose["check_hostname"] is False
    with pytest.raises(ValueError, match="charset"):
        connect_kwargs({**base, "charset": "utf8mb4; DROP"})


@pytest.mark.parametrize(
    ("port", "valid"),
    [(3306, True), ("3306", True), (65535, True), ("65535", True), (0, False), (99999, False),
     ("99999", False), ("65536", False), ("0", False), ("33o6", False)],
)  # fmt: skip
def test_port_must_be_a_tcp_port(port, valid):
    import jsonschema

    entry = {"host": "127.0.0.1", "database": "d", "user": "u", "port": port}
    errors = list(jsonschema.Draft202012Validator(MySQLFamily().schema).iter_errors(entry))
    assert (not errors) == valid, errors
