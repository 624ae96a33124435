"""The movies demo's run report end to end: `osiris run` leaves an AIOP, `osiris logs html`
renders the run, and a failing run's report and AIOP point at the failing step."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

DEMO = Path(__file__).resolve().parents[1] / "examples" / "movies"


@pytest.fixture
def project(tmp_path, monkeypatch):
    project = tmp_path / "movies"
    project.mkdir()
    shutil.copy(DEMO / "pipeline.yaml", project)
    shutil.copytree(DEMO / "data", project / "data")
    monkeypatch.chdir(tmp_path)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return project


def _aiop(session: Path) -> dict:
    import jsonschema

    schema = json.loads((resources.files("osiris") / "schemas" / "aiop.schema.json").read_text())
    doc = json.loads((session / "aiop" / "aiop.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


def test_demo_run_leaves_an_aiop_and_a_page(project, tmp_path):
    result = CliRunner().invoke(cli, ["run", str(project / "pipeline.yaml")])
    assert result.exit_code == 0, result.output
    (session,) = (tmp_path / "logs").glob("run_*")
    doc = _aiop(session)
    status = json.loads((session / "status.json").read_text())
    writers = [s for s in doc["evidence"]["steps"] if s["mode"] == "write"]
    assert len(writers) == 4 and doc["evidence"]["totals"]["rows_written"] == 40
    assert sum(status["steps"][s["step_id"]]["rows"] for s in writers) == 40
    assert doc["semantic"]["pipeline"]["name"] == "movies-demo"
    assert "duckdb.processor" in {c["name"] for c in doc["semantic"]["components"]}
    assert (session / "aiop" / "runcard.md").read_text().startswith("### ✅ movies-demo")
    page = CliRunner().invoke(cli, ["logs", "html", "last", "--open"])
    assert page.exit_code == 0 and page.output.strip().endswith(f"{session.name}.html")
    html = Path(page.output.strip()).read_text()
    assert "director-stats" in html and "write-top-rated-csv" in html


def test_demo_failing_run_points_at_the_failing_step(project, tmp_path):
    (project / "data" / "reviews.csv").write_text(
        "review_id,movie_id,rating,reviewed_at\n1,1,x,y\n"
    )
    result = CliRunner().invoke(cli, ["run", str(project / "pipeline.yaml")])
    assert result.exit_code == 1, result.output
    (session,) = (tmp_path / "logs").glob("run_*")
    doc = _aiop(session)
    failed = doc["evidence"]["run"]["failed_step"]
    assert failed == "read-reviews"
    assert f"The run failed at step '{failed}'" in doc["narrative"]["summary"]
    assert f"**Failed at step `{failed}`:**" in (session / "aiop" / "runcard.md").read_text()
    page = CliRunner().invoke(cli, ["logs", "html", "last"])
    html = Path(page.output.strip()).read_text()
    assert f'<a href="#step-{failed}" id="failed-step">{failed}</a>' in html
