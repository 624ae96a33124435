"""`osiris run --e2b` against the local E2B: the same run as locally, and the sandbox always closed.

Each failure case of the issue is produced for real: a failed step (a DuckDB error), a crashed
worker (the envd kills its process), a timeout (a query that never ends), a dropped connection
(the envd cuts the socket mid-stream), Ctrl-C (SIGINT to a real `osiris run` process).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2b_pipelines import ENDLESS, SECOND_FAILS, TWO_STEPS, write_pipeline
from osiris.cli.main import cli
from osiris.testing.session_checks import assert_session_valid
from parity_support import adapter_events, assert_same_run, only_session


def run_cli(*args: str):
    return CliRunner().invoke(cli, ["run", *args])


def run_both(pipeline: Path, tmp_path: Path, *extra: str):
    local = run_cli(str(pipeline), "--logs-dir", str(tmp_path / "local"))
    remote = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "remote"), *extra)
    return local, remote, only_session(tmp_path / "local"), only_session(tmp_path / "remote")


def closed(session: Path) -> dict:
    events = adapter_events(session)
    assert [e["event"] for e in events].count("sandbox_closed") == 1, events
    return next(e for e in events if e["event"] == "sandbox_closed")


def test_a_remote_run_is_the_local_run(tmp_path, e2b):
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    local, remote, local_dir, remote_dir = run_both(pipeline, tmp_path)
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert_same_run(local_dir, remote_dir, ordered=True)
    assert_session_valid(remote_dir)
    names = [e["event"] for e in adapter_events(remote_dir)]
    assert names == [
        "sandbox_created",
        "upload_complete",
        "deps_installed",
        "artifacts_downloaded",
        "sandbox_closed",
    ]
    assert closed(remote_dir)["reason"] == "completed"
    assert e2b.control.killed == [e2b.control.created[0]["id"]]
    assert e2b.envd.running() == []
    provenance = json.loads((remote_dir / "e2b" / "provenance.json").read_text())
    assert [d["name"] for d in provenance["distributions"]] == ["osiris-core"]
    assert len(provenance["distributions"][0]["sha256"]) == 64
    # the worker ran the shipped wheel, not the host's tree
    site = e2b.envd.home / "osiris" / "site" / "osiris" / "worker.py"
    assert site.is_file()
    worker = e2b.envd.started[-1]
    assert worker.envs.get("PYTHONPATH") == str(e2b.envd.home / "osiris" / "site")
    assert "osiris.worker" in worker.args[-1]


def test_debug_mode_runs_without_an_api_key(tmp_path, e2b_debug):
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 0, result.output
    session = only_session(tmp_path / "logs")
    assert closed(session)["sandbox_id"] == "debug_sandbox_id"


def test_a_failed_step_fails_the_same_way(tmp_path, e2b):
    pipeline = write_pipeline(tmp_path / "project", SECOND_FAILS)
    local, remote, local_dir, remote_dir = run_both(pipeline, tmp_path)
    assert local.exit_code == remote.exit_code == 1
    assert_same_run(local_dir, remote_dir, ordered=True)
    status = json.loads((remote_dir / "status.json").read_text())
    assert status["steps"]["summary"]["status"] == "failed"
    assert "no_such_column" in status["error"]
    assert closed(remote_dir)["reason"] == "failed"
    assert e2b.control.killed and e2b.envd.running() == []


def test_a_crashed_worker_closes_the_sandbox(tmp_path, e2b):
    e2b.envd.on_line = lambda proc, line: "kill" if b'"step_start"' in line else None
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 1
    assert "exited with code" in result.output and "before it reported a result" in result.output
    session = only_session(tmp_path / "logs")
    assert_session_valid(session)
    assert closed(session)["reason"] == "error"
    assert e2b.control.killed and e2b.envd.running() == []
    assert (session / "e2b" / "worker.log").is_file()
    steps = json.loads((session / "status.json").read_text())["steps"]
    assert steps["numbers"]["status"] == "failed"  # it was running: the events said so
    assert "before it reported a result" in steps["numbers"]["error"]
    assert steps["summary"]["status"] == "skipped"


def test_a_timeout_closes_the_sandbox(tmp_path, e2b):
    pipeline = write_pipeline(tmp_path / "project", ENDLESS)
    result = run_cli(
        str(pipeline), "--e2b", "--e2b-timeout", "2", "--logs-dir", str(tmp_path / "l")
    )
    assert result.exit_code == 1
    assert "did not finish within e2b.timeout_s (2 s)" in result.output
    assert e2b.control.created[0]["timeout"] == 2
    session = only_session(tmp_path / "l")
    assert closed(session)["reason"] == "error"
    assert e2b.control.killed and e2b.envd.running() == []


def test_a_dropped_connection_closes_the_sandbox(tmp_path, e2b):
    e2b.envd.on_line = lambda proc, line: "drop" if b'"step_start"' in line else None
    pipeline = write_pipeline(tmp_path / "project", ENDLESS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 1
    assert "Lost the connection to the sandbox" in result.output, result.output
    session = only_session(tmp_path / "logs")
    assert_session_valid(session)
    assert closed(session)["reason"] == "error"
    assert e2b.control.killed and e2b.envd.running() == []


@pytest.mark.parametrize("mode", ["e2b", "e2b_debug"])
def test_ctrl_c_closes_the_sandbox(tmp_path, mode, request):
    """With the control plane the sandbox is killed; in debug mode (no control plane) the
    worker's command is, through envd."""
    e2b = request.getfixturevalue(mode)
    pipeline = write_pipeline(tmp_path / "project", ENDLESS)
    logs = tmp_path / "logs"
    env = {**os.environ, **e2b.env}
    command = [sys.executable, "-c", "from osiris.cli.main import main; main()", "run"]
    process = subprocess.Popen(
        [*command, str(pipeline), "--e2b", "--logs-dir", str(logs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _has_event(logs, "step_start"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the worker never started its step"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    session = only_session(logs)
    assert closed(session)["reason"] == "interrupted"
    status = json.loads((session / "status.json").read_text())
    assert status["ok"] is False and "interrupted" in status["error"]
    assert e2b.envd.running() == []
    assert e2b.control.killed == ([] if mode == "e2b_debug" else [e2b.control.created[0]["id"]])


def _has_event(logs: Path, name: str) -> bool:
    for events in logs.glob("*/events.jsonl"):
        if f'"event": "{name}"' in events.read_text(encoding="utf-8"):
            return True
    return False


def test_no_api_key_is_exit_2_with_how_to_set_it(tmp_path, e2b, monkeypatch):
    monkeypatch.delenv("E2B_API_KEY")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 2
    assert "E2B_API_KEY is not set" in result.output and "export E2B_API_KEY=" in result.output
    assert e2b.control.created == []


def test_a_refused_api_key_is_exit_2(tmp_path, e2b, monkeypatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b_not_the_right_one")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 2
    assert "E2B refused the API key" in result.output
    assert e2b.control.created == [] and e2b.control.killed == []
    assert "e2b_not_the_right_one" not in result.output


def test_settings_come_from_osiris_yaml_and_flags_win(tmp_path, e2b):
    (Path.cwd() / "osiris.yaml").write_text("e2b:\n  template: from-yaml\n  timeout_s: 77\n")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(
        str(pipeline), "--e2b", "--e2b-timeout", "99", "--logs-dir", str(tmp_path / "logs")
    )
    assert result.exit_code == 0, result.output
    assert e2b.control.created[0]["templateID"] == "from-yaml"
    assert e2b.control.created[0]["timeout"] == 99


def test_an_unknown_e2b_setting_is_exit_2(tmp_path, e2b):
    (Path.cwd() / "osiris.yaml").write_text("e2b:\n  cpus: 4\n")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 2
    assert "e2b.cpus" in result.output
    assert e2b.control.created == []


LIVE_KEY = os.environ.get("E2B_API_KEY")  # read before the fixtures clear E2B_* variables


@pytest.mark.skipif(
    not LIVE_KEY or os.environ.get("CI", "").lower() == "true",
    reason="opt-in: runs against the hosted E2B when E2B_API_KEY is set (never in CI)",
)
def test_live_e2b(tmp_path, monkeypatch):
    monkeypatch.setenv("E2B_API_KEY", LIVE_KEY or "")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    local, remote, local_dir, remote_dir = run_both(pipeline, tmp_path, "--e2b-install-deps")
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert_same_run(local_dir, remote_dir, ordered=True)


@pytest.mark.skipif(not Path("/usr/bin/python3").is_file(), reason="needs a system Python")
def test_a_python_without_the_dependencies_is_named(tmp_path, e2b, monkeypatch):
    """The system Python has none of core's dependencies: said before the run, not a traceback."""
    monkeypatch.setenv("OSIRIS_E2B_PYTHON", "/usr/bin/python3")
    pipeline = write_pipeline(tmp_path / "project", TWO_STEPS)
    result = run_cli(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "logs"))
    assert result.exit_code == 1
    assert "lacks" in result.output and "pyarrow" in result.output
    assert "--e2b-install-deps" in result.output
    session = only_session(tmp_path / "logs")
    assert closed(session)["reason"] == "error"
    assert e2b.control.killed and e2b.envd.running() == []
