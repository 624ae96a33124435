"""``osiris logs list|show|gc`` over sessions written by real runs."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli
from osiris.runner.run import run_manifest


@pytest.fixture
def logs(runner_kit, tmp_path):
    """Two runs: one that succeeds, then one that fails."""
    good = runner_kit.write_manifest(tmp_path / "good", runner_kit.chain(3, rows=42), name="good")
    bad = runner_kit.write_manifest(
        tmp_path / "bad",
        [{"id": "src", "component": "kit.synthetic", "config": {"fail": "disk full"}}],
        name="bad",
    )
    first = run_manifest(good, logs_dir=tmp_path / "logs", registry=runner_kit.registry())
    second = run_manifest(bad, logs_dir=tmp_path / "logs", registry=runner_kit.registry())
    # session ids sort by second; make the order unambiguous for the assertions
    if first.session_id[:20] == second.session_id[:20]:
        newer = first.session_dir.parent / ("run_20991231T000000Z" + second.session_id[20:])
        shutil.move(second.session_dir, newer)
        second.session_id, second.session_dir = newer.name, newer
    (first.session_dir.parent / "not-a-session").mkdir()
    return tmp_path / "logs", first, second


def _invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_list(logs):
    root, first, second = logs
    result = _invoke("logs", "list", "--logs-dir", str(root))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(second.session_id) and "failed" in lines[0] and "bad" in lines[0]
    assert lines[1].startswith(first.session_id) and " ok " in lines[1] and "3 steps" in lines[1]
    data = json.loads(_invoke("logs", "list", "--logs-dir", str(root), "--json").output)
    assert [(d["session"], d["status"]) for d in data] == [
        (second.session_id, "failed"),
        (first.session_id, "ok"),
    ]


def test_list_uses_env_and_handles_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("OSIRIS_LOGS_DIR", str(tmp_path / "nothing"))
    result = _invoke("logs", "list")
    assert result.exit_code == 0 and result.output.startswith("No sessions in ")


@pytest.mark.parametrize("command", [["list"], ["show", "last"], ["gc", "--keep", "1"]])
def test_logs_dir_that_is_a_file_is_invalid_input(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a directory")
    result = _invoke("logs", *command, "--logs-dir", str(notes))
    assert result.exit_code == 2, result.output
    assert f"The logs directory {notes} is not a directory." in result.output
    assert notes.read_text() == "not a directory"


def test_show_success_and_failure(logs):
    root, first, second = logs
    out = _invoke("logs", "show", first.session_id, "--logs-dir", str(root)).output
    assert f"Session   {first.session_id}" in out
    assert "Pipeline  good" in out and "Status    succeeded" in out and "Adapter   local" in out
    assert "s2" in out and "42 rows" in out
    assert "Artifacts 1 file(s)" in out and "artifacts/s2/count.txt" in out
    out = _invoke("logs", "show", "last", "--logs-dir", str(root)).output
    assert "Status    FAILED" in out
    assert "Step 'src' failed: RuntimeError: disk full" in out
    data = json.loads(_invoke("logs", "show", str(second.session_dir), "--json").output)
    assert data["ok"] is False and data["steps"]["src"]["status"] == "failed"


def test_show_unknown_session_exits_2(logs):
    root, _, _ = logs
    result = _invoke("logs", "show", "run_nope", "--logs-dir", str(root))
    assert result.exit_code == 2 and "No session 'run_nope'" in result.stderr


def test_gc_keep_and_dry_run(logs):
    root, first, second = logs
    result = _invoke("logs", "gc", "--keep", "1", "--dry-run", "--logs-dir", str(root))
    assert result.exit_code == 0 and f"would remove {first.session_id}" in result.output
    assert first.session_dir.exists()
    result = _invoke("logs", "gc", "--keep", "1", "--logs-dir", str(root))
    assert f"removed {first.session_id}" in result.output
    assert not first.session_dir.exists() and second.session_dir.exists()
    assert (root / "not-a-session").exists()  # never touches foreign directories


def test_gc_older_than(logs):
    root, first, second = logs
    old = root / "run_20200101T000000Z_abcdef"
    shutil.copytree(first.session_dir, old)
    past = time.time() - 86400 * 400
    os.utime(old, (past, past))
    result = _invoke("logs", "gc", "--older-than", "30", "--logs-dir", str(root))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"removed {old.name}",
        f"Removed 1 session(s) from {root}.",
    ]
    assert first.session_dir.exists() and second.session_dir.exists()


def test_gc_needs_exactly_one_rule(logs):
    root, _, _ = logs
    assert _invoke("logs", "gc", "--logs-dir", str(root)).exit_code == 2
    assert (
        _invoke("logs", "gc", "--keep", "1", "--older-than", "2", "--logs-dir", str(root)).exit_code
        == 2
    )


@pytest.mark.parametrize("days", ["inf", "1e12", "100000000"])
def test_gc_older_than_beyond_any_date_removes_nothing(logs, days):
    root, first, second = logs
    result = _invoke("logs", "gc", "--logs-dir", str(root), "--older-than", days)
    assert result.exit_code == 0, result.output
    assert result.output == f"Removed 0 session(s) from {root}.\n"
    assert first.session_dir.is_dir() and second.session_dir.is_dir()


def test_gc_older_than_nan_is_invalid_input(logs):
    root, first, second = logs
    result = _invoke("logs", "gc", "--logs-dir", str(root), "--older-than", "nan")
    assert result.exit_code == 2
    assert result.stderr == "Error: --older-than must be a number of days, not nan.\n"
    assert first.session_dir.is_dir() and second.session_dir.is_dir()
