"""The shared operations on a real project (memtest plugin, real runner, real sessions)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from llm_support import PIPELINE, SECRET, TABLES
from osiris.errors import InvalidInputError
from osiris_llm import operations as ops


@pytest.fixture
def ws(project: Path) -> ops.Workspace:
    return ops.Workspace(project)


def test_resolve_path_stays_inside_the_project(ws, project, tmp_path):
    assert ws.resolve_path("pipes/a.yaml") == project / "pipes" / "a.yaml"
    assert ws.resolve_path(str(project / "data.json"), must_exist=True) == project / "data.json"
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    for bad in ("../x.yaml", "/etc/passwd", "a/../../x", "link/x.yaml", str(outside)):
        with pytest.raises(InvalidInputError, match="outside the project directory"):
            ws.resolve_path(bad)
    with pytest.raises(InvalidInputError, match="does not exist"):
        ws.resolve_path("missing.yaml", must_exist=True)
    with pytest.raises(InvalidInputError, match="non-empty"):
        ws.resolve_path("")


def test_list_connections_hides_the_secret(ws, project):
    (listing,) = ops.list_connections(ws)
    assert listing["reference"] == "@memtest.default"
    assert listing["default"] is True and listing["ok"] is True
    assert listing["fields"] == {"path": str(project / "data.json")}
    assert listing["secret_fields"] == ["token"]
    assert SECRET not in json.dumps(listing)


def test_doctor_reports_ok_and_auth_failures(ws, project):
    (result,) = ops.doctor_connections(ws)
    assert result["reference"] == "@memtest.default" and result["ok"] is True
    (project / "token.txt").write_text("another-token")
    (result,) = ops.doctor_connections(ws, "@memtest")
    assert result["ok"] is False and result["category"] == "auth"
    assert SECRET not in json.dumps(result) and "***" in result["message"]
    with pytest.raises(InvalidInputError, match="'reference'"):
        ops.doctor_connections(ws, "memtest")
    with pytest.raises(InvalidInputError, match="no connections"):
        ops.doctor_connections(ws, "@mysql.default")


def test_components_and_schema(ws):
    names = [c["name"] for c in ops.list_components(ws)]
    assert {"duckdb.processor", "memtest.extractor", "memtest.writer"} <= set(names)
    spec = ops.get_component(ws, "memtest.extractor")
    assert spec["configSchema"]["required"] == ["connection", "table"]
    assert spec["distribution"] == "osiris-llm-testplugin"
    with pytest.raises(InvalidInputError, match=r"Unknown component 'memtest\.extractr'"):
        ops.get_component(ws, "memtest.extractr")
    schema = ops.oml_schema(ws)
    step = schema["properties"]["steps"]["items"]
    assert "memtest.writer" in step["properties"]["component"]["enum"]
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    jsonschema.validate(yaml.safe_load(PIPELINE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load(PIPELINE), "tasks": []}, schema)


def test_discover_and_sample(ws, project):
    found = ops.discover(ws, "@memtest.default")
    tables = {t["name"]: t for t in found["tables"]}
    assert set(tables) == {"movies", "directors"}
    assert [c["name"] for c in tables["movies"]["columns"]] == ["id", "title", "director"]
    assert "samples" not in tables["movies"] and found["cached"] is False
    assert ops.discover(ws, "@memtest.default")["cached"] is True
    assert (project / ".osiris" / "discovery" / "memtest").is_dir()
    rows = ops.sample(ws, "@memtest.default", "movies", limit=2)
    assert rows["rows"] == TABLES["movies"][:2] and rows["columns"] == ["id", "title", "director"]
    with pytest.raises(InvalidInputError, match="'limit'"):
        ops.sample(ws, "@memtest.default", "movies", limit=21)
    with pytest.raises(InvalidInputError, match="'nope' cannot be sampled"):
        ops.sample(ws, "@memtest.default", "nope")
    with_rows = ops.discover(ws, "@memtest.default", tables=["directors"], samples=1)
    assert with_rows["tables"][0]["samples"] == TABLES["directors"][:1]
    no_samples = ops.Workspace(project, samples=False)
    with pytest.raises(InvalidInputError, match="--no-samples"):
        ops.discover(no_samples, "@memtest.default", samples=2)
    assert "samples" not in ops.discover(no_samples, "@memtest.default")["tables"][0]
    with pytest.raises(InvalidInputError, match="--no-samples"):
        ops.sample(no_samples, "@memtest.default", "movies")


def test_validate_save_compile_run_show(ws, project):
    checked = ops.validate_oml(ws, PIPELINE)
    assert checked == {
        "valid": True,
        "errors": [],
        "warnings": [],
        "steps": ["read_movies", "write_movies"],
    }
    bad = ops.validate_oml(ws, PIPELINE.replace("memtest.writer", "memtest.writr"))
    assert bad["valid"] is False and bad["errors"][0]["path"] == "steps[1].component"
    assert "did you mean" in (bad["errors"][0]["fix"] + bad["errors"][0]["message"]).lower()

    refused = ops.save_oml(ws, "pipes/bad.yaml", "oml_version: '0.1.0'\nname: x\n")
    assert refused["saved"] is False and not (project / "pipes" / "bad.yaml").exists()
    saved = ops.save_oml(ws, "pipes/copy.yaml", PIPELINE)
    assert saved["saved"] is True and saved["path"] == "pipes/copy.yaml"
    assert (project / "pipes" / "copy.yaml").read_text() == PIPELINE
    for name in ("osiris_connections.yaml", ".env", "notes.txt", "../x.yaml"):
        with pytest.raises(InvalidInputError):
            ops.save_oml(ws, name, PIPELINE)
    assert ops.validate_file(ws, "pipes/copy.yaml")["valid"] is True
    for secret_file in ("osiris_connections.yaml", ".env", "token.txt"):
        for read in (ops.validate_file, ops.compile_pipeline, ops.run_pipeline):
            with pytest.raises(InvalidInputError, match="not a pipeline file"):
                read(ws, secret_file)

    compiled = ops.compile_pipeline(ws, "pipes/copy.yaml")
    assert compiled["ok"] is True and compiled["compiled_dir"] == "compiled"
    assert [s["id"] for s in compiled["steps"]] == ["read_movies", "write_movies"]
    assert compiled["fingerprints"]["manifest_fp"].startswith("sha256:")
    last = json.loads((project / ".osiris" / "last_compile.json").read_text())
    assert last == {"manifest": str((project / "compiled" / "manifest.yaml").resolve())}

    events: list[str] = []
    result = ops.run_pipeline(
        ws, "pipes/copy.yaml", on_event=lambda k, r: events.append(r.get("event", ""))
    )
    assert result["ok"] is True and result["status"] == "succeeded"
    assert result["steps"]["read_movies"]["rows"] == 3 and result["rows_written"] == 3
    assert "step_complete" in events and "run_complete" in events
    lines = (project / "pipes" / "output" / "movies.jsonl").read_text().splitlines()
    assert [json.loads(line)["title"] for line in lines] == [m["title"] for m in TABLES["movies"]]

    from_manifest = ops.run_pipeline(ws, "compiled")
    assert from_manifest["ok"] is True and from_manifest["rows_written"] == 3

    shown = ops.show_run(ws, result["session"])
    assert shown["ok"] is True and shown["steps"]["write_movies"]["status"] == "succeeded"
    assert shown["rows_written"] == 3
    runs = ops.list_runs(ws)
    assert [r["session"] for r in runs] == [from_manifest["session"], result["session"]]
    assert ops.show_run(ws, "last")["session"] == from_manifest["session"]
    with pytest.raises(InvalidInputError, match="'session'"):
        ops.show_run(ws, "../../etc")
    aiop = ops.get_aiop(ws, result["session"])
    assert aiop["metadata"]["session"]["id"] == result["session"]
    assert aiop["evidence"]["totals"]["rows_written"] == 3
    assert "copy-movies" in ops.get_aiop(ws, "last", format="md")["runcard"]
    with pytest.raises(InvalidInputError, match="'format'"):
        ops.get_aiop(ws, "last", format="pdf")


def test_a_crashing_driver_is_a_failed_result_with_the_secret_masked(ws, project):
    crashing = PIPELINE.replace("table: movies}", "table: movies, crash: true}")
    ops.save_oml(ws, "crash.yaml", crashing)
    result = ops.run_pipeline(ws, "crash.yaml")
    assert result["ok"] is False and result["exit_code"] == 1
    assert result["steps"]["read_movies"]["status"] == "failed"
    assert "driver exploded" in result["error"] and SECRET not in json.dumps(result)
    assert SECRET not in json.dumps(ops.get_aiop(ws, result["session"]))
    session_dir = project / result["session_dir"]
    for path in session_dir.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_invalid_pipeline_run_is_exit_2_and_bad_params_are_refused(ws):
    ops.save_oml(ws, "bad.yaml", PIPELINE.replace("@memtest.default", "@memtest.nope"), force=True)
    result = ops.run_pipeline(ws, "bad.yaml")
    assert result["ok"] is False and result["exit_code"] == 2
    assert "nope" in result["error"]
    with pytest.raises(InvalidInputError, match="'params'"):
        ops.run_pipeline(ws, "bad.yaml", params={"x": [1]})
    with pytest.raises(InvalidInputError, match="Unknown execution adapter"):
        ops.run_pipeline(ws, "bad.yaml", adapter="nowhere")
    assert os.getcwd() != str(ws.project_dir)
