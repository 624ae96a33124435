"""``osiris run`` through CliRunner: compile-and-run, manifests, dry run, exit codes, masking."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli
from osiris.testing.session_checks import assert_no_secrets, assert_session_valid

OML = """\
oml_version: "0.1.0"
name: kit-oml
params:
  rows: {default: 100}
steps:
  - id: src
    component: kit.synthetic
    mode: read
    config: {rows: "${params.rows}"}
  - id: sink
    component: kit.counter
    mode: write
    needs: [src]
"""

LEAKY_OML = """\
oml_version: "0.1.0"
name: leaky
steps:
  - id: leak
    component: kit.leaky
    mode: read
    config: {connection: "@kitdb.main", fail: FAIL}
  - id: sink
    component: kit.counter
    mode: write
    needs: [leak]
"""


@pytest.fixture
def invoke(runner_kit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OSIRIS_LOGS_DIR", raising=False)
    monkeypatch.delenv("OSIRIS_HOME", raising=False)

    def call(*args):
        result = CliRunner().invoke(cli, list(args), obj={"registry": runner_kit.registry()})
        return result

    return call


def _sessions(tmp_path):
    logs = tmp_path / "logs"
    return sorted(logs.iterdir()) if logs.is_dir() else []


def test_run_oml_compiles_into_the_session_and_runs(invoke, tmp_path, runner_kit):
    (tmp_path / "pipeline.yaml").write_text(OML)
    result = invoke("run", "pipeline.yaml", "--param", "rows=2345")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Run succeeded: kit-oml · 2 steps (2 succeeded)")
    assert "2,345 rows" in result.output
    (session,) = _sessions(tmp_path)
    assert f"Session: logs/{session.name}" in result.output
    status = assert_session_valid(session)
    assert status["ok"] is True and status["steps"]["sink"]["rows"] == 2345
    assert (session / "compiled" / "manifest.yaml").is_file()
    assert json.loads((session / "compiled" / "cfg" / "src.json").read_text())["rows"] == 2345
    events = [json.loads(x)["event"] for x in (session / "events.jsonl").read_text().splitlines()]
    assert events[:3] == ["run_start", "compile_start", "compile_complete"]


def test_run_manifest_dir_and_file_and_last_compile(invoke, tmp_path, runner_kit):
    manifest = runner_kit.write_manifest(tmp_path / "build", runner_kit.chain(3, rows=50))
    assert invoke("run", "build").exit_code == 0
    assert invoke("run", str(manifest)).exit_code == 0
    (tmp_path / ".osiris").mkdir()
    (tmp_path / ".osiris" / "last_compile.json").write_text(
        json.dumps({"manifest": str(manifest.resolve())})
    )
    result = invoke("run", "--last-compile", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert summary["ok"] is True and summary["steps"]["s2"]["rows"] == 50
    assert len(_sessions(tmp_path)) == 3


def test_dry_run_prints_the_plan_and_writes_nothing(invoke, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(LEAKY_OML)
    result = invoke("run", "pipeline.yaml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Plan for leaky: 2 steps on the local adapter" in result.output
    assert "leak  kit.leaky (extract)  [connection @kitdb.main]" in result.output
    assert "sink  kit.counter (write)  [after leak]" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]
    plan = json.loads(invoke("run", "pipeline.yaml", "--dry-run", "--json").output)
    assert [s["id"] for s in plan["steps"]] == ["leak", "sink"]


def test_failed_run_exits_1_with_one_sentence(invoke, tmp_path, runner_kit):
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"fail": "no route to host"}},
        {"id": "sink", "component": "kit.counter", "needs": ["src"]},
    ]
    runner_kit.write_manifest(tmp_path / "build", steps)
    result = invoke("run", "build")
    assert result.exit_code == 1
    assert "Run failed: kit-pipeline · 2 steps (1 failed, 1 skipped)" in result.output
    assert result.stderr.strip() == (
        "Error: Step 'src' failed: RuntimeError: no route to host. (1 failed, 1 skipped)"
    )
    assert "Traceback" not in result.output
    (session,) = _sessions(tmp_path)
    assert assert_session_valid(session)["ok"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Give either a pipeline/manifest path or --last-compile."),
        (("missing.yaml",), "missing.yaml does not exist."),
        (("build", "--param", "x=1"), "--param and --profile apply when compiling"),
        (("--last-compile",), "No previous compile recorded"),
        (("build", "--adapter", "nowhere"), "Unknown execution adapter 'nowhere'"),
    ],
)
def test_invalid_input_exits_2(invoke, tmp_path, runner_kit, args, message):
    runner_kit.write_manifest(tmp_path / "build", runner_kit.chain(2))
    result = invoke("run", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_invalid_oml_exits_2_and_records_the_session(invoke, tmp_path):
    (tmp_path / "pipeline.yaml").write_text("oml_version: '0.1.0'\nname: bad\nsteps: []\n")
    result = invoke("run", "pipeline.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    (session,) = _sessions(tmp_path)
    assert assert_session_valid(session)["ok"] is False


def test_missing_connection_variable_exits_2_naming_step_and_variable(
    invoke, tmp_path, monkeypatch
):
    monkeypatch.delenv("KIT_PASSWORD", raising=False)
    _connections(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(LEAKY_OML.replace("fail: FAIL", "fail: false"))
    result = invoke("run", "pipeline.yaml")
    assert result.exit_code == 2
    assert "Step 'leak'" in result.stderr and "KIT_PASSWORD" in result.stderr


def _connections(tmp_path):
    (tmp_path / "osiris_connections.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          kitdb:
            main:
              host: localhost
              user: reader
              password: ${KIT_PASSWORD}
        """)
    )


@pytest.mark.parametrize("fail", [False, True])
def test_secrets_never_reach_files_or_output(invoke, tmp_path, monkeypatch, runner_kit, fail):
    monkeypatch.setenv("KIT_PASSWORD", runner_kit.SECRET)
    _connections(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(LEAKY_OML.replace("FAIL", str(fail).lower()))
    result = invoke("run", "pipeline.yaml", "--verbose")
    assert result.exit_code == (1 if fail else 0), result.output
    assert runner_kit.SEEN["connection"]["password"] == runner_kit.SECRET  # the driver got it
    (session,) = _sessions(tmp_path)
    status = assert_session_valid(session, secrets=[runner_kit.SECRET])
    assert_no_secrets(tmp_path / "logs", [runner_kit.SECRET], [result.output, result.stderr])
    events = (session / "events.jsonl").read_text()
    assert '"leaky_connect"' in events and "leak://u:***@host/db" in events
    assert "connection_resolve_complete" in events
    assert (session / "artifacts" / "leak" / "debug.txt").read_text() == "connected with ***\n"
    assert session.name in result.output  # the run id itself is never masked
    if fail:
        assert status["steps"]["leak"]["error"] == (
            "Step 'leak' failed: RuntimeError: login failed for password ***"
        )


def test_verbose_streams_events_and_max_workers_is_used(invoke, tmp_path, runner_kit):
    runner_kit.write_manifest(tmp_path / "build", runner_kit.chain(2, rows=5))
    result = invoke("run", "build", "--verbose", "--max-workers", "1")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert events[0]["event"] == "run_start" and events[-1]["event"] == "run_complete"
    selected = next(e for e in events if e["event"] == "adapter_selected")
    assert selected["max_workers"] == 1


def test_progress_lines_on_a_terminal(capsys):
    from osiris.cli.run_cmd import ProgressReporter

    reporter = ProgressReporter(verbose=False, progress=True)
    reporter("event", {"event": "adapter_prepare_start", "steps": 2})
    reporter("event", {"event": "step_complete", "step_id": "a", "rows": 1234})
    reporter("metric", {"metric": "rows_read", "value": 1})
    reporter("event", {"event": "step_skipped", "step_id": "b", "reason": "x"})
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["[1/2] a done · 1,234 rows", "[2/2] b skipped"]


@pytest.mark.parametrize("logs_dir", ["notes.txt", "notes.txt/logs"])
def test_logs_dir_that_is_a_file_exits_2_with_one_sentence(invoke, tmp_path, logs_dir):
    (tmp_path / "pipeline.yaml").write_text(OML)
    (tmp_path / "notes.txt").write_text("a file\n")
    result = invoke("run", "pipeline.yaml", "--logs-dir", logs_dir)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: The logs directory {logs_dir} is not a directory")
    assert "Unexpected" not in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "a file\n"
