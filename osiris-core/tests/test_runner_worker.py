"""``python -m osiris.worker``: the same runner code, reporting as JSON lines on stdout."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from osiris.worker import run_compiled


def _lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_worker_runs_steps_and_prints_events_and_metrics(runner_kit, tmp_path):
    compiled = runner_kit.write_manifest(tmp_path / "compiled", runner_kit.chain(3, rows=64)).parent
    out = io.StringIO()
    code = run_compiled(compiled, tmp_path / "run", out=out, registry=runner_kit.registry())
    assert code == 0
    records = _lines(out.getvalue())
    events = [(r["event"], r.get("step_id")) for r in records if r["kind"] == "event"]
    assert ("step_start", "s0") in events and ("step_complete", "s2") in events
    metrics = {
        (r["metric"], r.get("step_id")): r["value"] for r in records if r["kind"] == "metric"
    }
    assert metrics[("rows_written", "s2")] == 64 and metrics[("rows_read", "s0")] == 64
    assert records[-1] == {
        "kind": "result",
        "ok": True,
        "exit_code": 0,
        "steps": records[-1]["steps"],
        "error": None,
    }
    assert records[-1]["steps"]["s2"]["rows"] == 64
    assert (tmp_path / "run" / "artifacts" / "s2" / "count.txt").read_text() == "64"


def test_worker_failure_exit_1_traceback_in_log_only(runner_kit, tmp_path):
    steps = [{"id": "src", "component": "kit.synthetic", "config": {"fail": "boom"}}]
    compiled = runner_kit.write_manifest(tmp_path / "compiled", steps).parent
    out = io.StringIO()
    assert run_compiled(compiled, tmp_path / "run", out=out, registry=runner_kit.registry()) == 1
    result = _lines(out.getvalue())[-1]
    assert result["error"] == "Step 'src' failed: RuntimeError: boom"
    assert "Traceback" not in out.getvalue()
    assert "Traceback" in (tmp_path / "run" / "osiris.log").read_text()


def test_worker_as_a_process(tmp_path):
    """A real subprocess with the installed plugins: exit code and last line."""
    compiled = tmp_path / "compiled"
    (compiled / "cfg").mkdir(parents=True)
    (compiled / "cfg" / "q.json").write_text(json.dumps({"query": "SELECT 42 AS answer"}))
    (compiled / "manifest.yaml").write_text(
        "pipeline: {name: answer, source: null}\n"
        "steps:\n  - {id: q, component: duckdb.processor, mode: transform, cfg_path: cfg/q.json,"
        " needs: []}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "osiris.worker", str(compiled), "--run-dir", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    last = _lines(proc.stdout)[-1]
    assert last["ok"] is True and last["steps"]["q"] == {
        "status": "succeeded",
        "rows": 1,
        "duration_ms": last["steps"]["q"]["duration_ms"],
        "error": None,
    }
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "osiris.worker",
            str(tmp_path / "nothing"),
            "--run-dir",
            str(tmp_path / "run2"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "No compiled manifest" in _lines(missing.stdout)[-1]["error"]
