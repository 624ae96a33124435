import json
from urllib.parse import quote

import connections_support as support
import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

SECRET = support.SECRET
FORMS = (SECRET, quote(SECRET, safe=""), quote(SECRET))

CONFIG = """\
memdb:
  main:
    default: true
    host: ok
    user: ada
    password: ${MEM_PASSWORD}
  unset:
    host: ok
    user: ada
    password: ${NOT_SET_ANYWHERE}
"""


@pytest.fixture
def discover_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    monkeypatch.setenv("MEM_PASSWORD", SECRET)
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    family = support.MemFamily()
    return family, support.make_registry(family)


def invoke(registry, *args):
    result = CliRunner().invoke(cli, list(args), obj={"registry": registry})
    for form in FORMS:
        assert form not in result.output, f"secret form {form!r} leaked"
    return result


def assert_cache_clean(tmp_path):
    files = list((tmp_path / ".osiris" / "discovery").rglob("*.json"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for form in FORMS:
            assert form not in text


def test_text_output_then_cache(discover_env, tmp_path):
    family, registry = discover_env
    result = invoke(registry, "discover", "@memdb.main", "--samples", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("@memdb.main  (live, discovered ")
    assert "table movies, ~1,234 rows, primary key (id)" in lines
    assert "  column  type          null  key" in lines
    assert "  id      int           no    PRI" in lines
    assert "  title   varchar(200)  yes" in lines
    assert "  samples (2):" in lines
    assert "    1   Movie 1 ✨  seen by ***" in lines
    assert "view directors, ~7 rows" in lines
    assert "    Ada" in lines
    again = invoke(registry, "discover", "@memdb", "--samples", "2")
    assert again.output.splitlines()[0].startswith("@memdb.main  (cache, discovered ")
    assert len(family.discover_calls) == 1
    assert_cache_clean(tmp_path)


def test_json_tables_refresh(discover_env, tmp_path):
    family, registry = discover_env
    result = invoke(
        registry, "discover", "@memdb.main", "--tables", "movies, ", "--samples", "1", "--json"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["ref"] == "@memdb.main" and document["cached"] is False
    assert [t["name"] for t in document["tables"]] == ["movies"]
    assert document["tables"][0]["samples"] == [
        {"id": 1, "title": "Movie 1 ✨", "note": "seen by ***"}
    ]
    assert family.discover_calls == [{"tables": ["movies"], "samples": 1}]
    cached = json.loads(
        invoke(
            registry, "discover", "@memdb.main", "--tables", "movies", "--samples", "1", "--json"
        ).output
    )
    assert cached["cached"] is True and cached["tables"] == document["tables"]
    refreshed = invoke(
        registry,
        "discover",
        "@memdb.main",
        "--tables",
        "movies",
        "--samples",
        "1",
        "--json",
        "--refresh",
    )
    assert json.loads(refreshed.output)["cached"] is False
    assert len(family.discover_calls) == 2
    assert_cache_clean(tmp_path)


def test_bad_inputs_exit_2_with_one_sentence(discover_env):
    _, registry = discover_env
    result = invoke(registry, "discover", "mysql.main")
    assert result.exit_code == 2 and "expected '@family.alias'" in result.output
    result = invoke(registry, "discover", "@memdb.unset")
    assert result.exit_code == 2
    assert "field 'password' needs the variable 'NOT_SET_ANYWHERE'" in result.output
    result = invoke(registry, "discover", "@nosuch.x")
    assert result.exit_code == 2 and "Unknown connection family 'nosuch'" in result.output
    result = invoke(registry, "discover", "@memdb.main", "--samples", "-1")
    assert result.exit_code == 2


def test_family_failure_is_masked_and_exits_1(tmp_path, monkeypatch):
    class Leaky(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            raise ConnectionError(f"cannot log in with {connection['password']}")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_PASSWORD", SECRET)
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    result = invoke(support.make_registry(Leaky()), "discover", "@memdb")
    assert result.exit_code == 1
    assert "Error: Discovery of @memdb.main failed: ConnectionError: cannot log in with ***" in (
        result.output
    )
    assert not (tmp_path / ".osiris" / "discovery").exists()


def test_debug_traceback_is_masked_too(tmp_path, monkeypatch):
    class Leaky(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            secret = connection["password"]
            raise ConnectionError(f"cannot log in with {secret} (mysql://ada:{secret}@h/db)")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_PASSWORD", SECRET)
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    result = invoke(support.make_registry(Leaky()), "--debug", "discover", "@memdb")
    assert result.exit_code == 1
    assert "Traceback" in result.output
    assert "ConnectionError: cannot log in with *** (mysql://ada:***@h/db)" in result.output


def test_text_view_of_other_result_shapes(tmp_path, monkeypatch):
    class FileLike(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            return {
                "source": "files",
                "tables": [
                    {
                        "name": "movies.csv",
                        "format": "csv",
                        "row_estimate": -1,
                        "primary_key": ["id"],
                        "columns": [{"name": "id", "type": "int64"}, {"name": "t", "type": "str"}],
                        "sample_rows": [{"id": 1, "t": "x" * 60 + "\tend"}],
                    },
                    {"name": "broken.csv", "format": "csv", "error": "bad quoting"},
                ],
            }

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_PASSWORD", SECRET)
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    result = invoke(support.make_registry(FileLike()), "discover", "@memdb")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "source: files" in lines
    assert "table movies.csv, format csv, primary key (id)" in lines
    assert "  id      int64        primary" in lines
    assert "    1   " + "x" * 39 + "…" in lines
    assert "table broken.csv, format csv" in lines
    assert "  error: bad quoting" in lines


def test_samples_default_comes_from_the_discovery_setting(discover_env, tmp_path, monkeypatch):
    family, registry = discover_env
    (tmp_path / "osiris.yaml").write_text("discovery:\n  samples: 3\n", encoding="utf-8")
    assert invoke(registry, "discover", "@memdb.main", "--json").exit_code == 0
    monkeypatch.setenv("OSIRIS_DISCOVERY_SAMPLES", "0")
    assert invoke(registry, "discover", "@memdb.main", "--json", "--refresh").exit_code == 0
    assert invoke(registry, "discover", "@memdb.main", "--samples", "1", "--refresh").exit_code == 0
    assert [call["samples"] for call in family.discover_calls] == [3, 0, 1]


def test_discovery_leaves_a_masked_session(discover_env, tmp_path):
    _, registry = discover_env
    assert invoke(registry, "discover", "@memdb.main", "--logs-dir", "sessions").exit_code == 0
    assert invoke(registry, "discover", "@memdb.nosuch", "--logs-dir", "sessions").exit_code == 2
    ok, failed = sorted((tmp_path / "sessions").iterdir())  # ids sort by time, then random
    if json.loads((ok / "status.json").read_text())["ok"] is False:
        ok, failed = failed, ok
    events = [json.loads(line) for line in (ok / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["discovery_start", "discovery_complete"]
    assert (events[1]["reference"], events[1]["tables"], events[1]["cached"]) == (
        "@memdb.main",
        2,
        False,
    )
    saved = json.loads((ok / "artifacts" / "discovery" / "discovery.json").read_text())
    assert [t["name"] for t in saved["tables"]] == ["movies", "directors"]
    last = json.loads((failed / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "discovery_error" and "nosuch" in last["error"]
    for session in (ok, failed):
        for path in session.rglob("*"):
            if path.is_file():
                for form in FORMS:
                    assert form not in path.read_text(), (path, form)
