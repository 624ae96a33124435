"""Runner edge cases: colliding input names, drivers breaking the result contract, DuckDB steps
whose output nobody reads, metrics counted once."""

from __future__ import annotations

import json
import sys
import tempfile

import pyarrow as pa
import pytest
from osiris import hookimpl
from osiris.runner.run import run_manifest
from osiris.testing.session_checks import assert_session_valid

MODULE = "test_runner_audit"
"""Importable under this name (the pytest ``pythonpath``), as a plugin's driver module is."""


class BareTable:
    """Breaks the contract: returns the Table itself instead of ``{"df": table}``."""

    def run(self, *, step_id, config, inputs, ctx):
        return pa.table({"id": [1, 2, 3]})


@hookimpl
def register_components():
    from osiris.components import Component

    spec = {
        "name": "audit.bare_table",
        "version": "0.1.0",
        "modes": ["extract"],
        "configSchema": {"type": "object"},
        "x-runtime": {"driver": f"{MODULE}:BareTable"},
    }
    return [Component(name="audit.bare_table", spec=spec, driver=f"{MODULE}:BareTable")]


def _registry(kit):
    pm = kit.plugin_manager()
    pm.register_plugin(sys.modules[__name__], MODULE, "osiris-runner-audit", "0.1.0")
    from osiris.registry import build_registry

    return build_registry(pm)


def _run(kit, tmp_path, steps, **options):
    manifest = kit.write_manifest(tmp_path / "compiled", steps)
    result = run_manifest(manifest, logs_dir=tmp_path / "logs", registry=_registry(kit), **options)
    status = assert_session_valid(result.session_dir)
    events = [json.loads(x) for x in (result.session_dir / "events.jsonl").read_text().splitlines()]
    return result, status, events


def test_inputs_whose_names_collide_are_refused_before_data_moves(runner_kit, tmp_path):
    """'a-b' and 'a.b' are both df_a_b: the consumer used to get one of them, and succeed."""
    steps = [
        {"id": "a-b", "component": "kit.synthetic", "config": {"rows": 10}},
        {"id": "a.b", "component": "kit.table"},
        {"id": "both", "component": "kit.counter", "needs": ["a-b", "a.b"]},
    ]
    result, status, events = _run(runner_kit, tmp_path, steps)
    assert result.exit_code == 2 and not status["ok"]
    assert status["error"].startswith(
        "Step 'both': its inputs 'a-b' and 'a.b' would both be named df_a_b."
    )
    assert "step_start" not in [e["event"] for e in events]


def test_a_driver_returning_a_bare_table_fails_instead_of_dropping_it(runner_kit, tmp_path):
    steps = [
        {"id": "src", "component": "audit.bare_table"},
        {"id": "sink", "component": "kit.counter", "needs": ["src"]},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps)
    assert result.exit_code == 1
    assert status["steps"]["src"]["status"] == "failed"
    assert status["steps"]["src"]["error"] == (
        "Step 'src': the driver returned Table; expected a dict such as {'df': data}"
        " or {} for no output."
    )
    assert status["steps"]["sink"]["status"] == "skipped"


def test_duckdb_output_nobody_reads_leaves_no_temp_directory(runner_kit, tmp_path, monkeypatch):
    """'join' is skipped before it reads 'q': DuckDB's spill directory must still go."""
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    steps = [
        {"id": "bad", "component": "kit.synthetic", "config": {"fail": "early"}},
        {"id": "src", "component": "kit.synthetic", "config": {"rows": 10}},
        {
            "id": "q",
            "component": "duckdb.processor",
            "needs": ["src"],
            "config": {"query": "SELECT * FROM input_df"},
        },
        {"id": "join", "component": "kit.counter", "needs": ["q", "bad"]},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps, max_workers=1)
    assert status["steps"]["join"]["status"] == "skipped"
    assert status["steps"]["q"]["status"] == "succeeded"
    assert result.exit_code == 1
    assert [p.name for p in temp_root.iterdir()] == []


def test_a_duckdb_step_reports_rows_out_once(runner_kit, tmp_path):
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"rows": 5000, "batch_size": 1000}},
        {
            "id": "q",
            "component": "duckdb.processor",
            "needs": ["src"],
            "config": {"query": "SELECT * FROM input_df WHERE id % 2 = 0"},
        },
        {"id": "sink", "component": "kit.counter", "needs": ["q"]},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps)
    assert result.ok
    lines = (result.session_dir / "metrics.jsonl").read_text().splitlines()
    rows_out = [
        (m["step_id"], m["value"]) for m in map(json.loads, lines) if m["metric"] == "rows_out"
    ]
    assert sorted(rows_out) == [("q", 2500), ("src", 5000)]
    assert status["steps"]["q"]["rows"] == 2500


@pytest.mark.parametrize("rows", [0, 3000])
def test_fan_out_through_duckdb_gives_every_consumer_every_row(runner_kit, tmp_path, rows):
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"rows": rows, "batch_size": 700}},
        {
            "id": "q",
            "component": "duckdb.processor",
            "needs": ["src"],
            "config": {"query": "SELECT a.id FROM input_df a JOIN df_src b USING (id)"},
        },
        {"id": "w1", "component": "kit.counter", "needs": ["q"]},
        {"id": "w2", "component": "kit.counter", "needs": ["q", "src"]},
    ]
    result, _, _ = _run(runner_kit, tmp_path, steps, max_workers=2)
    assert result.ok, result.error
    assert runner_kit.SEEN["w1"]["rows"] == rows
    assert runner_kit.SEEN["w2"]["rows"] == 2 * rows
    assert not (result.session_dir / "spill").exists()


def test_run_error_sentence_keeps_its_own_punctuation():
    from osiris.runner.run import _run_error

    counts = {"failed": 1, "skipped": 1, "succeeded": 0}
    assert _run_error("Step 'q': near the WHERE clause!", counts) == (
        "Step 'q': near the WHERE clause! (1 failed, 1 skipped)"
    )
    assert _run_error("Step 'q': it broke", counts) == "Step 'q': it broke. (1 failed, 1 skipped)"
    assert _run_error(None, counts) == "The run failed. (1 failed, 1 skipped)"
