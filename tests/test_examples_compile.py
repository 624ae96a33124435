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


@pytest.mark.parametrize("component", ["mysql.extractor", "supabase.extractor"])
def test_installed_sql_extractors_reject_writing_queries(component, tmp_path):
    family = component.split(".")[0]
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        'oml_version: "0.1.0"\nname: guarded\nsteps:\n'
        f"  - id: a\n    component: {component}\n    mode: read\n    config:\n"
        f"      connection: '@{family}.default'\n"
        "      query: WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d\n"
    )
    result = CliRunner().invoke(cli, ["oml", "validate", str(pipeline), "--json"])
    assert result.exit_code == 2
    (error,) = json.loads(result.stdout)["errors"]
    assert error["path"] == "steps[0].config.query"
    assert error["message"].startswith("The query contains DELETE")
