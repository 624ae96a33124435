"""``osiris run --e2b`` and ``--e2b-*`` from core's side: plain values, no plugin import."""

from __future__ import annotations

import importlib.metadata

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

OML = """\
oml_version: "0.1.0"
name: tiny
steps:
  - id: n
    component: duckdb.processor
    mode: transform
    needs: []
    config: {query: SELECT 1 AS x}
"""


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "p.yaml"
    path.write_text(OML)
    return path


def test_e2b_flags_without_e2b_are_refused(pipeline):
    result = CliRunner().invoke(cli, ["run", str(pipeline), "--e2b-template", "t"])
    assert result.exit_code == 2
    assert "--e2b-template applies to E2B runs only. Add --e2b" in result.output


def test_e2b_contradicting_adapter_is_refused(pipeline):
    result = CliRunner().invoke(cli, ["run", str(pipeline), "--e2b", "--adapter", "other"])
    assert result.exit_code == 2 and "contradict" in result.output


def test_e2b_without_the_plugin_says_what_to_install(pipeline, monkeypatch):
    """Where osiris-remote-e2b is installed, it is turned off and reported as not installed."""
    monkeypatch.setenv("OSIRIS_DISABLE_PLUGINS", "e2b")
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        if name == "osiris-remote-e2b":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    result = CliRunner().invoke(cli, ["run", str(pipeline), "--e2b", "--logs-dir", "logs"])
    assert result.exit_code == 2
    assert "Unknown execution adapter 'e2b'" in result.output
    assert "pip install osiris-remote-e2b" in result.output
