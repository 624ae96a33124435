"""`osiris run --e2b --verify checksum`: the run option reaches the sandbox's worker (run_options),
so the remote writers verify by checksum and report it, as a local run does."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2b_local import local_e2b
from parity_support import only_session

DATA = Path(__file__).resolve().parents[1] / "examples" / "movies" / "data"
PIPELINE = """\
oml_version: "0.1.0"
name: verify-remote
steps:
  - id: movies
    component: filesystem.csv_extractor
    mode: read
    config: {path: "data/movies*.csv"}
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [movies]
    config: {path: out/movies.parquet}
"""


@pytest.fixture
def project(tmp_path, monkeypatch, tmp_path_factory):
    folder = tmp_path / "project"
    shutil.copytree(DATA, folder / "data")
    (folder / "pipeline.yaml").write_text(PIPELINE)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("OSIRIS_", "E2B_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OSIRIS_E2B_WHEEL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "wheels"))
    return folder


def _verified(session: Path) -> list[tuple[str, str, int]]:
    events = [json.loads(x) for x in (session / "events.jsonl").read_text().splitlines()]
    return [(e["step_id"], e["method"], e["rows"]) for e in events if e["event"] == "load_verified"]


def test_verify_checksum_reaches_the_remote_worker(project, tmp_path, monkeypatch):
    from osiris.cli.main import cli

    with local_e2b(tmp_path / "sandbox-home", monkeypatch, debug=False):
        args = [str(project / "pipeline.yaml"), "--e2b", "--verify", "checksum"]
        remote = CliRunner().invoke(cli, ["run", *args, "--logs-dir", str(tmp_path / "remote")])
    assert remote.exit_code == 0, remote.output
    local = CliRunner().invoke(
        cli, ["run", str(project / "pipeline.yaml"), "--verify", "checksum",
              "--logs-dir", str(tmp_path / "local")],
    )  # fmt: skip
    assert local.exit_code == 0, local.output
    remote_dir, local_dir = only_session(tmp_path / "remote"), only_session(tmp_path / "local")
    assert _verified(remote_dir) == _verified(local_dir)
    [(step, method, rows)] = _verified(remote_dir)
    assert (step, method) == ("write", "checksum") and rows > 0
    status = json.loads((remote_dir / "status.json").read_text())
    assert status["steps"]["write"]["rows_verified"] == rows
    assert f"{rows:,} verified" in remote.output
