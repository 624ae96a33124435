import json
from urllib.parse import quote

import connections_support as support
import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

SECRET, TOKEN = support.SECRET, support.TOKEN
FORMS = (SECRET, quote(SECRET, safe=""), quote(SECRET), TOKEN, "dsnpass-77")

CONFIG = """\
version: 1
connections:
  memdb:
    good:
      default: true
      host: ok
      user: ada
      password: ${MEM_PASSWORD}
      dsn: memdb://ada:dsnpass-77@ok/db
    denied:
      host: badauth
      user: ada
      password: ${MEM_PASSWORD}
    crash:
      host: crash
      user: ada
      password: ${MEM_PASSWORD}
    unset:
      host: ok
      user: ada
      password: ${NOT_SET_ANYWHERE}
  slowdb:
    stuck:
      host: hang
      user: ada
      password: ${SLOW_TOKEN}
"""


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    monkeypatch.setenv("MEM_PASSWORD", SECRET)
    support.write(tmp_path / ".env", f"SLOW_TOKEN={TOKEN}\n")
    support.write(tmp_path / "osiris_connections.yaml", CONFIG)
    slow = support.SlowFamily()
    registry = support.make_registry(support.MemFamily(), slow)
    yield registry
    slow.release.set()


def invoke(registry, *args):
    result = CliRunner().invoke(cli, list(args), obj={"registry": registry})
    for form in FORMS:
        assert form not in result.output, f"secret form {form!r} leaked"
    return result


def test_list_text_masks_and_flags(cli_env):
    result = invoke(cli_env, "connections", "list")
    assert result.exit_code == 0, result.output
    assert "@memdb.good (default)  [ok]" in result.output
    assert "    password: ***" in result.output
    assert "    dsn: ***" in result.output
    assert "@memdb.unset  [needs attention]" in result.output
    assert "missing variables: NOT_SET_ANYWHERE" in result.output
    assert "@slowdb.stuck  [ok]" in result.output


def test_list_json(cli_env):
    result = invoke(cli_env, "connections", "list", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["file"].endswith("osiris_connections.yaml")
    by_ref = {entry["ref"]: entry for entry in document["connections"]}
    assert by_ref["@memdb.good"]["values"] == {
        "host": "ok",
        "user": "ada",
        "password": "***",
        "dsn": "***",
    }
    assert by_ref["@memdb.good"]["default"] is True and by_ref["@memdb.good"]["ok"] is True
    assert by_ref["@memdb.unset"]["missing_variables"] == ["NOT_SET_ANYWHERE"]
    assert by_ref["@memdb.unset"]["ok"] is False
    assert by_ref["@slowdb.stuck"]["distribution"] == "memdb-plugin"


def test_list_with_explicit_file_and_without_any_file(cli_env, tmp_path):
    other = support.write(
        tmp_path / "elsewhere" / "conns.yaml", "memdb:\n  x: {host: h, user: u}\n"
    )
    result = invoke(cli_env, "connections", "list", "--connections", str(other))
    assert "@memdb.x  [ok]" in result.output and "@memdb.good" not in result.output
    (tmp_path / "osiris_connections.yaml").unlink()
    result = invoke(cli_env, "connections", "list")
    assert result.exit_code == 0 and "No connections file found" in result.output
    result = invoke(cli_env, "connections", "list", "--connections", "missing.yaml")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_doctor_reports_each_category_and_exits_1(cli_env):
    result = invoke(cli_env, "connections", "doctor", "--timeout", "0.3", "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    outcome = {r["ref"]: (r["ok"], r["category"]) for r in document["results"]}
    assert outcome == {
        "@memdb.good": (True, "ok"),
        "@memdb.denied": (False, "auth"),
        "@memdb.crash": (False, "unknown"),
        "@memdb.unset": (False, "config"),
        "@slowdb.stuck": (False, "timeout"),
    }
    by_ref = {r["ref"]: r for r in document["results"]}
    assert by_ref["@memdb.good"]["latency_ms"] == 1.5
    assert by_ref["@memdb.good"]["details"] == {"server": "memdb 1.0"}
    assert by_ref["@memdb.denied"]["message"].startswith(
        "Access denied for 'ada' with password '***'"
    )
    assert "memdb://ada:***@badauth/db, encoded ***)" in by_ref["@memdb.denied"]["message"]
    assert by_ref["@memdb.denied"]["details"] == {"attempted_password": "***"}
    assert "RuntimeError: driver crashed while using ***" in by_ref["@memdb.crash"]["message"]
    assert "NOT_SET_ANYWHERE" in by_ref["@memdb.unset"]["message"]
    assert by_ref["@slowdb.stuck"]["latency_ms"] >= 300
    assert document["ok"] is False


def test_doctor_filters_and_text_output(cli_env):
    result = invoke(cli_env, "connections", "doctor", "--family", "memdb", "--alias", "good")
    assert result.exit_code == 0, result.output
    assert "@memdb.good: ok 2 ms - Connected." in result.output
    assert "1 ok, 0 failed." in result.output
    result = invoke(cli_env, "connections", "doctor", "--alias", "denied")
    assert result.exit_code == 1
    assert "@memdb.denied: FAILED (auth)" in result.output
    result = invoke(cli_env, "connections", "doctor", "--family", "nosuch")
    assert result.exit_code == 2
    assert "No connection in" in result.output and "@memdb.good" in result.output


def test_doctor_without_file_is_invalid_input(cli_env, tmp_path):
    (tmp_path / "osiris_connections.yaml").unlink()
    result = invoke(cli_env, "connections", "doctor")
    assert result.exit_code == 2 and "No connections file found" in result.output


def test_errors_are_masked(cli_env, tmp_path):
    bad = support.write(
        tmp_path / "bad.yaml",
        f"memdb:\n  x:\n    host: ok\n    user: ada\n    port: '{SECRET}'\n    password: ${{MEM_PASSWORD}}\n",
    )
    result = invoke(cli_env, "connections", "doctor", "--connections", str(bad))
    assert result.exit_code == 1
    assert "field 'port'" in result.output
