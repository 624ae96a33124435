"""Audit of mysql discovery: unreadable tables, odd names and column defaults, on a real server."""

from __future__ import annotations

import secrets

import pytest
from osiris_driver_mysql.family import MySQLFamily

pytestmark = pytest.mark.mysql


@pytest.fixture
def column_only_user(mysql_test_db, mysql_exec):
    """A user who may read ``movies`` but only the ``id`` column of ``locked``."""
    user = f"osiris_c_{secrets.token_hex(4)}"
    database = mysql_test_db["database"]
    mysql_exec(
        "CREATE TABLE movies (id INT PRIMARY KEY, title VARCHAR(20))",
        "INSERT INTO movies VALUES (1, 'Alien')",
        "CREATE TABLE locked (id INT, secret VARCHAR(20))",
    )
    for host in ("%", "localhost"):
        mysql_exec(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY 'pw-c0lumn'")
        mysql_exec(f"GRANT SELECT ON `{database}`.movies TO '{user}'@'{host}'")
        mysql_exec(f"GRANT SELECT (id) ON `{database}`.locked TO '{user}'@'{host}'")
    yield {**mysql_test_db, "user": user, "password": "pw-c0lumn"}
    for host in ("%", "localhost"):
        mysql_exec(f"DROP USER IF EXISTS '{user}'@'{host}'")


def test_a_broken_view_is_reported_and_the_other_tables_still_discovered(mysql_test_db, mysql_exec):
    mysql_exec(
        "CREATE TABLE movies (id INT PRIMARY KEY)",
        "INSERT INTO movies VALUES (7)",
        "CREATE TABLE gone (a INT)",
        "CREATE VIEW broken AS SELECT a FROM gone",
        "DROP TABLE gone",
    )
    found = MySQLFamily().discover(mysql_test_db, samples=1)
    by_name = {table["name"]: table for table in found["tables"]}
    assert by_name["movies"]["samples"] == [{"id": 7}]
    assert by_name["broken"]["type"] == "view"
    assert "references invalid table" in by_name["broken"]["error"]
    assert by_name["broken"]["samples"] == []


def test_a_table_readable_only_in_part_is_reported(column_only_user):
    found = MySQLFamily().discover(column_only_user, samples=1)
    by_name = {table["name"]: table for table in found["tables"]}
    assert by_name["movies"]["samples"] == [{"id": 1, "title": "Alien"}]
    assert "denied" in by_name["locked"]["error"]
    assert "pw-c0lumn" not in by_name["locked"]["error"]


def test_column_defaults_are_values_not_sql_text(mysql_test_db, mysql_exec):
    mysql_exec(
        "CREATE TABLE d (a INT, b VARCHAR(10) DEFAULT 'it''s', c INT NOT NULL DEFAULT 3,"
        " e VARCHAR(10) DEFAULT 'NULL')"
    )
    (table,) = MySQLFamily().discover(mysql_test_db, samples=0)["tables"]
    defaults = {column["name"]: column["default"] for column in table["columns"]}
    assert defaults == {"a": None, "b": "it's", "c": "3", "e": "NULL"}


def test_odd_table_names_are_discovered_and_sampled(mysql_test_db, mysql_exec):
    mysql_exec(
        'CREATE TABLE `my table` (`na"me` INT)',
        "INSERT INTO `my table` VALUES (1)",
        "CREATE TABLE `ta``ble` (`select` INT)",
        "INSERT INTO `ta``ble` VALUES (2)",
        "CREATE TABLE `Ünï` (x INT)",
        "INSERT INTO `Ünï` VALUES (3)",
    )
    found = MySQLFamily().discover(mysql_test_db, tables=["ta`ble", "Ünï", "my table"], samples=1)
    samples = {table["name"]: table["samples"] for table in found["tables"]}
    assert samples == {"my table": [{'na"me': 1}], "ta`ble": [{"select": 2}], "Ünï": [{"x": 3}]}
