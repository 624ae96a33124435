"""Every example pipeline validates and compiles against the real installed plugins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from osiris.cli.main import cli

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "pipelines").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_and_compiles(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    validated = runner.invoke(cli, ["oml", "validate", str(example), "--json"])
    assert validated.exit_code == 0, validated.output
    assert json.loads(validated.stdout)["errors"] == []
    compiled = runner.invoke(cli, ["compile", str(example), "--out", "out", "--json"])
    assert compiled.exit_code == 0, compiled.output
    manifest = yaml.safe_load((tmp_path / "out" / "manifest.yaml").read_text())
    source = manifest["pipeline"]["source"]
    assert not Path(source).is_absolute()
    assert (tmp_path / "out" / source).resolve() == example.resolve()
