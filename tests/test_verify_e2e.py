"""Verified loads through `osiris run` and `python -m osiris.worker`: the summary says how many
rows each writer verified, `--verify checksum` reaches every writer without changing the
compiled pipeline, and a checksum mismatch fails the run with the old file kept."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

PIPELINE = """\
oml_version: "0.1.0"
name: verify-demo
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: in.csv}
  - id: to-parquet
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config: {path: out.parquet}
  - id: to-csv
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config: {path: out.csv}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def _input(project: Path, rows: list[str]) -> None:
    (project / "in.csv").write_text("id,name\n" + "".join(f"{r}\n" for r in rows))


def _session(project: Path, output: str) -> Path:
    """The session a run printed (two runs in one second sort in random order)."""
    line = next(line for line in output.splitlines() if line.startswith("Session: "))
    return project / line.removeprefix("Session: ")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_summary_and_metrics_show_rows_verified(project):
    _input(project, [f'{i},"n{i}"' for i in range(250)])
    result = CliRunner().invoke(cli, ["run", "pipeline.yaml"])
    assert result.exit_code == 0, result.output
    assert "250 verified" in result.output.split("to-parquet")[1].splitlines()[0]
    session = _session(project, result.output)
    verified = {m["step_id"]: m["value"] for m in _lines(session / "metrics.jsonl")
                if m["metric"] == "rows_verified"}  # fmt: skip
    assert verified == {"to-parquet": 250, "to-csv": 250}
    status = json.loads((session / "status.json").read_text())
    assert status["steps"]["to-csv"]["rows_verified"] == 250
    assert "rows_verified" not in status["steps"]["read"]
    methods = {e["step_id"]: e["method"] for e in _lines(session / "events.jsonl")
               if e["event"] == "load_verified"}  # fmt: skip
    assert methods == {"to-parquet": "count", "to-csv": "count"}


def test_run_wide_checksum_fails_the_writer_that_changed_values(project, monkeypatch):
    """A CSV writer that changes a value (simulated: the CSV format keeps every value it
    accepts) passes the count and fails the checksum; the Parquet writer of the same run
    verifies its checksum; the compiled pipeline is the same with and without --verify."""
    import pyarrow as pa
    from osiris_driver_filesystem import csv_io

    real = csv_io._write_csv

    def changes_a_name(step_id, config, tmp, reader):
        table = pa.table(reader)
        table = table.set_column(1, "name", pa.array(["a", "B"]))
        return real(
            step_id,
            config,
            tmp,
            pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
        )

    monkeypatch.setattr(csv_io, "_write_csv", changes_a_name)
    _input(project, ['1,"a"', '2,"b"'])
    (project / "out.csv").write_text("old\n")
    plain = CliRunner().invoke(cli, ["run", "pipeline.yaml"])
    assert plain.exit_code == 0, plain.output
    fingerprint = json.loads(
        (_session(project, plain.output) / "compiled" / "meta.json").read_text()
    )
    (project / "out.csv").write_text("old\n")
    result = CliRunner().invoke(cli, ["run", "pipeline.yaml", "--verify", "checksum"])
    assert result.exit_code == 1
    assert "the checksum of column 'name' differs" in result.output
    assert (project / "out.csv").read_text() == "old\n"
    session = _session(project, result.output)
    assert json.loads((session / "compiled" / "meta.json").read_text()) == fingerprint
    events = [e for e in _lines(session / "events.jsonl") if e["event"] == "load_verified"]
    assert [(e["step_id"], e["method"], e["rows"]) for e in events] == [
        ("to-parquet", "checksum", 2)
    ]


def test_worker_takes_verify_as_a_run_option(project):
    _input(project, ['1,"a"', '2,"b"'])
    compiled = CliRunner().invoke(cli, ["compile", "pipeline.yaml", "--out", "build"])
    assert compiled.exit_code == 0, compiled.output
    out = subprocess.run(
        [sys.executable, "-m", "osiris.worker", "build", "--run-dir", "run", "--verify", "checksum"],
        capture_output=True, text=True, check=False, cwd=project,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    verified = [r for r in records if r.get("event") == "load_verified"]
    assert sorted((r["step_id"], r["method"]) for r in verified) == [
        ("to-csv", "checksum"), ("to-parquet", "checksum"),
    ]  # fmt: skip
    assert records[-1]["steps"]["to-csv"]["rows_verified"] == 2


def test_unknown_verify_value_is_a_usage_error(project):
    result = CliRunner().invoke(cli, ["run", "pipeline.yaml", "--verify", "sha256"])
    assert result.exit_code == 2
    assert "'sha256' is not one of 'count', 'checksum'" in textwrap.dedent(result.output)
