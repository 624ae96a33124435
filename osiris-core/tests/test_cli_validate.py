"""``osiris validate``: what is installed, configured and missing; exit 2 when broken."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    monkeypatch.delenv("OSIRIS_LOGS_DIR", raising=False)
    return tmp_path


def _invoke(pm, *args):
    return CliRunner().invoke(cli, ["validate", *args], obj={"plugin_manager": pm})


def test_ready_project_without_connections_file(project, runner_kit):
    result = _invoke(runner_kit.plugin_manager())
    assert result.exit_code == 0, result.output
    assert "OK    components: duckdb.processor, kit.counter" in result.output
    assert "OK    execution adapters: local" in result.output
    assert "WARN  connections file: not found" in result.output
    assert "Summary: ready, with 1 warning(s)." in result.output


def test_missing_variable_and_broken_plugin_exit_2(project, runner_kit, monkeypatch):
    monkeypatch.delenv("KIT_PASSWORD", raising=False)
    (project / "osiris_connections.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          kitdb:
            main: {host: h, user: u, password: "${KIT_PASSWORD}"}
          nosuch:
            x: {host: h}
        """)
    )
    pm = runner_kit.plugin_manager()
    pm.record_failure(
        "acme",
        "acme_osiris.plugin",
        "acme-osiris",
        "1.0",
        "ModuleNotFoundError: No module named 'snowflake'",
    )
    result = _invoke(pm)
    assert result.exit_code == 2
    assert (
        "FAIL  plugin acme: acme-osiris 1.0 failed to load: ModuleNotFoundError: No module"
        " named 'snowflake'"
    ) in result.output
    assert "FAIL  connection @kitdb.main: missing variable(s) KIT_PASSWORD" in result.output
    assert "FAIL  connection @nosuch.x:" in result.output and "not installed" in result.output
    assert result.output.splitlines()[-1].startswith("Summary: 3 problem(s) to fix:")
    data = json.loads(_invoke(pm, "--json").output)
    assert data["ok"] is False
    assert {c["area"] for c in data["checks"] if c["level"] == "fail"} == {
        "plugin acme",
        "connection @kitdb.main",
        "connection @nosuch.x",
    }


def test_connections_resolving_and_secrets_masked(project, runner_kit, monkeypatch):
    monkeypatch.setenv("KIT_PASSWORD", runner_kit.SECRET)
    path = project / "conns.yaml"
    path.write_text("kitdb:\n  main: {host: h, user: u, password: '${KIT_PASSWORD}'}\n")
    result = _invoke(runner_kit.plugin_manager(), "--connections", str(path))
    assert result.exit_code == 0, result.output
    assert f"OK    connections file: {path} (1 entries)" in result.output
    assert "OK    connection @kitdb.main: resolves" in result.output
    assert runner_kit.SECRET not in result.output


def test_missing_explicit_connections_file_exits_2(project, runner_kit):
    result = _invoke(runner_kit.plugin_manager(), "--connections", "nope.yaml")
    assert result.exit_code == 2 and "FAIL  connections file:" in result.output


def test_logs_dir_that_is_a_file_fails(project, runner_kit):
    (project / "notes.txt").write_text("a file\n")
    result = _invoke(runner_kit.plugin_manager(), "--logs-dir", "notes.txt/logs")
    assert result.exit_code == 2, result.output
    assert (
        "FAIL  logs dir: The logs directory notes.txt/logs is not a directory"
        " (notes.txt is a file)." in result.output
    )
    assert "(writable)" not in result.output
