"""Audit of ``osiris discover`` on the filesystem family, through the CLI as a user runs it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "osiris_connections.yaml").write_text(
        "filesystem:\n  local: {base_dir: ./data}\n  missing: {base_dir: ./nope}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_missing_base_dir_is_an_error_not_an_empty_result(project):
    result = CliRunner().invoke(cli, ["discover", "@filesystem.missing"])
    assert result.exit_code == 1, result.output
    assert "base_dir nope does not exist" in result.output
    assert "Traceback" not in result.output and "No tables found" not in result.output
    assert not (project / ".osiris").exists()


def test_nan_and_infinity_in_a_csv_are_strict_json(project):
    (project / "data" / "m.csv").write_text("v\nnan\ninf\n1.5\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["discover", "@filesystem.local", "--json"])
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise ValueError(constant)

    (table,) = json.loads(result.output, parse_constant=refuse)["tables"]
    assert table["sample_rows"] == [{"v": "NaN"}, {"v": "Infinity"}, {"v": 1.5}]
