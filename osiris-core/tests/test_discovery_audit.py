"""Audit of ``osiris discover`` from a user's side: strict JSON, readable text, cache identity."""

import json

import connections_support as support
import pytest
from click.testing import CliRunner
from osiris import discovery
from osiris.cli.main import cli
from osiris.connections import load_connections

CONFIG = """\
memdb:
  main:
    host: ok
    user: ada
    password: ${MEM_PASSWORD}
    dsn: ${MEM_DSN}
"""


def strict_json(text: str):
    """JSON as RFC 8259 (and jq, and JavaScript) reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


class Floats(support.MemFamily):
    def discover(self, connection, *, tables=None, samples=5):
        return {
            "tables": [
                {
                    "name": "measures",
                    "columns": [{"name": "v", "type": "double"}, {"name": "doc", "type": "json"}],
                    "samples": [
                        {"v": float("nan"), "doc": {"a": [1, 2], "ok": True}},
                        {"v": float("inf"), "doc": None},
                        {"v": float("-inf"), "doc": {"nested": float("nan")}},
                    ],
                }
            ]
        }


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    monkeypatch.setenv("MEM_PASSWORD", support.SECRET)
    monkeypatch.setenv("MEM_DSN", "memdb://ada:pw-in-dsn-123@db1:5000/sales")
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    return tmp_path


def test_non_finite_samples_are_strict_json_in_output_and_cache(project):
    registry = support.make_registry(Floats())
    result = CliRunner().invoke(
        cli, ["discover", "@memdb.main", "--json"], obj={"registry": registry}
    )
    assert result.exit_code == 0, result.output
    samples = strict_json(result.output)["tables"][0]["samples"]
    assert [row["v"] for row in samples] == ["NaN", "Infinity", "-Infinity"]
    assert samples[2]["doc"] == {"nested": "NaN"}
    (cached,) = (project / ".osiris" / "discovery" / "memdb").glob("*.json")
    strict_json(cached.read_text(encoding="utf-8"))


def test_text_view_shows_json_values_as_json(project):
    registry = support.make_registry(Floats())
    result = CliRunner().invoke(cli, ["discover", "@memdb.main"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert '    NaN        {"a": [1, 2], "ok": true}' in lines
    assert "{'a'" not in result.output and "True" not in result.output


class Broken(support.MemFamily):
    def discover(self, connection, *, tables=None, samples=5):
        return {"tables": [{"name": "gone", "error": "permission denied for table gone"}]}


def test_table_with_an_error_shows_no_empty_column_grid(project):
    registry = support.make_registry(Broken())
    result = CliRunner().invoke(cli, ["discover", "@memdb.main"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "",
        "table gone",
        "  error: permission denied for table gone",
    ]


class Located(support.MemFamily):
    """A family whose secret ``dsn`` also says where the data is (host, port, database)."""

    def discovery_identity(self, connection):
        dsn = connection.get("dsn", "")
        return {"dsn_target": dsn.rsplit("@", 1)[-1]}


def test_family_identity_from_a_secret_field_is_part_of_the_key(project, monkeypatch):
    family = Located()
    registry = support.make_registry(family)

    def run():
        loaded = load_connections(project / "osiris_connections.yaml", cwd=project)
        return discovery.discover(loaded.resolve("@memdb.main", registry), registry)

    first = run()
    monkeypatch.setenv("MEM_DSN", "memdb://ada:another-pw-456@db1:5000/sales")
    assert run().cached  # only the DSN's password changed
    monkeypatch.setenv("MEM_DSN", "memdb://ada:pw-in-dsn-123@db2:5000/sales")
    moved = run()
    assert not moved.cached and moved.fingerprint != first.fingerprint
    assert len(family.discover_calls) == 2
    for path in (project / ".osiris").rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "pw-in-dsn-123" not in text and support.SECRET not in text


def test_a_table_asked_for_but_not_found_is_listed_with_an_error(project):
    registry = support.make_registry(Floats())
    result = CliRunner().invoke(
        cli,
        ["discover", "@memdb.main", "--tables", "measures,mesures", "--json"],
        obj={"registry": registry},
    )
    assert result.exit_code == 0, result.output
    tables = strict_json(result.output)["tables"]
    assert [(t["name"], t.get("error")) for t in tables] == [
        ("measures", None),
        ("mesures", "no such table or view"),
    ]
