"""Local/remote parity, proved: the same pipelines run locally and through `osiris run --e2b`.

The remote side is the real `e2b` SDK against the local envd-compatible server and fake control
plane (osiris-remote-e2b/tests/e2b_local.py); the worker runs the wheels the adapter built and
uploaded. Each case asserts byte-identical output files and target tables, the same normalised
events (per step: parallel branches interleave), metric names and row counts, status.json and
exit code. The secrets case plants a password and looks for it everywhere it must not be.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2b_local import local_e2b
from osiris.testing.session_checks import assert_no_secrets, assert_session_valid
from parity_support import adapter_events, assert_same_run, only_session

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "movies"
MOVIES_SQL = ROOT / "tests" / "fixtures" / "movies_mysql.sql"
ALLOW = "--e2b-allow-local-hosts"


@pytest.fixture
def project(tmp_path, monkeypatch, tmp_path_factory):
    """A scratch project with the demo's data; cwd elsewhere, no stray settings or variables."""
    folder = tmp_path / "project"
    shutil.copytree(DEMO / "data", folder / "data")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in list(os.environ):
        if name.startswith(("OSIRIS_", "E2B_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OSIRIS_E2B_WHEEL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "wheels"))
    return folder


@pytest.fixture
def e2b(tmp_path, monkeypatch):
    with local_e2b(tmp_path / "sandbox-home", monkeypatch, debug=False) as local:
        yield local


def run(*args: str):
    from osiris.cli.main import cli

    return CliRunner().invoke(cli, ["run", *args])


def outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def local_then_remote(pipeline: Path, tmp_path: Path, out: Path, *extra: str):
    """Run locally, keep the outputs aside, run remotely into the same (now absent) paths."""
    local = run(str(pipeline), "--logs-dir", str(tmp_path / "local"), *extra)
    local_out = outputs(out) if out.exists() else {}
    if out.exists():
        shutil.rmtree(out)
    remote = run(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "remote"), *extra)
    remote_out = outputs(out) if out.exists() else {}
    return (
        local,
        remote,
        only_session(tmp_path / "local"),
        only_session(tmp_path / "remote"),
        local_out,
        remote_out,
    )


def test_movies_demo(project, tmp_path, e2b):
    shutil.copy(DEMO / "pipeline.yaml", project / "pipeline.yaml")
    local, remote, local_dir, remote_dir, local_out, remote_out = local_then_remote(
        project / "pipeline.yaml", tmp_path, project / "output"
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert len(local_out) == 4 and remote_out == local_out
    assert_same_run(local_dir, remote_dir)
    assert_session_valid(remote_dir)
    remote_events = [json.loads(x) for x in (remote_dir / "events.jsonl").read_text().splitlines()]
    written = [e["path"] for e in remote_events if e["event"] == "file_written"]
    assert sorted(written) == sorted(str(project / "output" / name) for name in remote_out)
    installed = next(e for e in adapter_events(remote_dir) if e["event"] == "deps_installed")
    assert [w["name"] for w in installed["wheels"]] == ["osiris-core", "osiris-driver-filesystem"]
    assert e2b.control.killed and e2b.envd.running() == []


TWO_INPUTS = """\
oml_version: "0.1.0"
name: two-inputs
steps:
  - id: directors
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/directors.csv}
  - id: movies
    component: filesystem.csv_extractor
    mode: read
    config: {path: "data/movies*.csv", schema: {budget_usd: "decimal128(14,2)"}}
  - id: joined
    component: duckdb.processor
    mode: transform
    needs: [directors, movies]
    config:
      query: |
        SELECT d.name, count(*) AS movies, sum(m.budget_usd) AS budget
        FROM df_directors d JOIN df_movies m USING (director_id)
        GROUP BY d.name ORDER BY d.name
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [joined]
    config: {path: out/joined.parquet}
"""


def test_duckdb_transform_with_two_inputs(project, tmp_path, e2b):
    (project / "pipeline.yaml").write_text(TWO_INPUTS)
    local, remote, local_dir, remote_dir, local_out, remote_out = local_then_remote(
        project / "pipeline.yaml", tmp_path, project / "out"
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert list(remote_out) == ["joined.parquet"] and remote_out == local_out
    assert_same_run(local_dir, remote_dir, ordered=False)


def test_second_step_fails(project, tmp_path, e2b):
    failing = TWO_INPUTS.replace("sum(m.budget_usd)", "sum(m.no_such_column)")
    (project / "pipeline.yaml").write_text(failing)
    previous = project / "out" / "joined.parquet"
    previous.parent.mkdir()
    previous.write_bytes(b"the previous output")
    local = run(str(project / "pipeline.yaml"), "--logs-dir", str(tmp_path / "local"))
    assert previous.read_bytes() == b"the previous output"
    remote = run(str(project / "pipeline.yaml"), "--e2b", "--logs-dir", str(tmp_path / "remote"))
    assert previous.read_bytes() == b"the previous output"
    assert local.exit_code == remote.exit_code == 1
    local_dir, remote_dir = only_session(tmp_path / "local"), only_session(tmp_path / "remote")
    assert_same_run(local_dir, remote_dir, ordered=False)
    status = json.loads((remote_dir / "status.json").read_text())
    assert status["steps"]["joined"]["status"] == "failed"
    assert status["steps"]["write"]["status"] == "skipped"
    closing = next(e for e in adapter_events(remote_dir) if e["event"] == "sandbox_closed")
    assert closing["reason"] == "failed"


PARALLEL = """\
oml_version: "0.1.0"
name: parallel
steps:
""" + "".join(
    f"""\
  - id: read-{name}
    component: filesystem.csv_extractor
    mode: read
    config: {{path: data/{name}.csv}}
  - id: write-{name}
    component: filesystem.csv_writer
    mode: write
    needs: [read-{name}]
    config: {{path: copies/{name}.csv}}
"""
    for name in ("actors", "directors", "reviews", "movie_actors")
)


def test_parallel_branches(project, tmp_path, e2b):
    (project / "pipeline.yaml").write_text(PARALLEL)
    local, remote, local_dir, remote_dir, local_out, remote_out = local_then_remote(
        project / "pipeline.yaml", tmp_path, project / "copies", "--max-workers", "4"
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert len(remote_out) == 4 and remote_out == local_out
    assert_same_run(local_dir, remote_dir, ordered=False)


VIA_CONNECTION = """\
oml_version: "0.1.0"
name: via-connection
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {connection: "@filesystem.data", path: "*.csv", columns: [actor_id, name]}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config: {connection: "@filesystem.elsewhere", path: actors.csv}
"""


def test_filesystem_connections_with_absolute_base_dirs(project, tmp_path, e2b, monkeypatch):
    """base_dir values (one from a variable) are shipped as the sandbox's mirror of them."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "data" / "only").mkdir()
    shutil.copy(project / "data" / "actors.csv", project / "data" / "only" / "actors.csv")
    monkeypatch.setenv("PARITY_OUT_DIR", str(elsewhere))
    (Path.cwd() / "osiris_connections.yaml").write_text(
        f"filesystem:\n  data:\n    base_dir: {project / 'data' / 'only'}\n"
        "  elsewhere:\n    base_dir: ${PARITY_OUT_DIR}\n"
    )
    (project / "pipeline.yaml").write_text(VIA_CONNECTION)
    local, remote, local_dir, remote_dir, local_out, remote_out = local_then_remote(
        project / "pipeline.yaml", tmp_path, elsewhere
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert list(remote_out) == ["actors.csv"] and remote_out == local_out
    assert_same_run(local_dir, remote_dir, ordered=True)
    shipped = (tmp_path / "sandbox-home" / "osiris" / "connections.yaml").read_text()
    assert str(tmp_path / "sandbox-home" / "osiris" / "fs") in shipped


def test_over_the_download_cap_nothing_is_written(project, tmp_path, e2b, monkeypatch):
    shutil.copy(DEMO / "pipeline.yaml", project / "pipeline.yaml")
    (project / "output").mkdir()
    (project / "output" / "top_rated.csv").write_text("previous\n")
    monkeypatch.setenv("OSIRIS_E2B_MAX_DOWNLOAD_MB", "0.001")
    result = run(str(project / "pipeline.yaml"), "--e2b", "--logs-dir", str(tmp_path / "l"))
    assert result.exit_code == 1
    assert "over the e2b.max_download_mb limit of 0.001 MB; nothing was downloaded" in (
        result.output
    )
    assert outputs(project / "output") == {"top_rated.csv": b"previous\n"}
    session = only_session(tmp_path / "l")
    assert not (session / "artifacts").exists() or not any((session / "artifacts").rglob("*.*"))
    assert e2b.control.killed and e2b.envd.running() == []


def test_a_failed_download_changes_no_output(project, tmp_path, e2b):
    shutil.copy(DEMO / "pipeline.yaml", project / "pipeline.yaml")
    (project / "output").mkdir()
    for name in ("director_stats.csv", "top_rated.csv"):
        (project / "output" / name).write_text(f"previous {name}\n")
    e2b.envd.fail_download = lambda path: path.name == "top_rated.parquet"
    result = run(str(project / "pipeline.yaml"), "--e2b", "--logs-dir", str(tmp_path / "l"))
    assert result.exit_code == 1
    assert "Could not download" in result.output
    assert outputs(project / "output") == {
        "director_stats.csv": b"previous director_stats.csv\n",
        "top_rated.csv": b"previous top_rated.csv\n",
    }
    session = only_session(tmp_path / "l")
    closing = next(e for e in adapter_events(session) if e["event"] == "sandbox_closed")
    assert closing["reason"] == "error"
    assert e2b.control.killed and e2b.envd.running() == []


# -- MySQL -> Supabase (postgres transport), with a planted secret --------------------------------
MYSQL_TO_SUPABASE = """\
oml_version: "0.1.0"
name: mysql-to-supabase
steps:
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.planted", table: movies}
  - id: write-movies
    component: supabase.writer
    mode: write
    needs: [extract-movies]
    config:
      connection: "@supabase.postgres"
      table: movies
      write_mode: replace
      primary_key: [movie_id]
      create_if_missing: true
"""


@pytest.fixture
def databases(project, mysql, postgres, monkeypatch):
    database = mysql.database("osiris_e2b", MOVIES_SQL)
    user = f"e2b_{secrets.token_hex(4)}"
    password = f"Planted-{secrets.token_hex(8)}"
    for host in ("%", "localhost"):
        mysql.sql(None, f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
        mysql.sql(None, f"GRANT ALL ON `{database}`.* TO '{user}'@'{host}'")
    schema, pg = postgres.schema("e2b_parity")
    monkeypatch.setenv("PARITY_MYSQL_USER", user)
    monkeypatch.setenv("PARITY_MYSQL_PASSWORD", password)
    monkeypatch.setenv("PARITY_MYSQL_DB", database)
    monkeypatch.setenv("PARITY_PG_URL", postgres.url)
    monkeypatch.setenv("PARITY_PG_SCHEMA", schema)
    monkeypatch.setenv("DECOY_API_KEY", "decoy-" + password)  # a sweep would ship this
    (Path.cwd() / "osiris_connections.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          mysql:
            planted:
              host: 127.0.0.1
              port: 3306
              database: ${PARITY_MYSQL_DB}
              user: ${PARITY_MYSQL_USER}
              password: ${PARITY_MYSQL_PASSWORD}
            unused:
              host: 127.0.0.1
              user: root
              password: ${DECOY_API_KEY}
          supabase:
            postgres:
              db_url: ${PARITY_PG_URL}
              schema: ${PARITY_PG_SCHEMA}
        """)
    )
    try:
        yield password, pg
    finally:
        for host in ("%", "localhost"):
            mysql.sql(None, f"DROP USER IF EXISTS '{user}'@'{host}'")


@pytest.mark.mysql
@pytest.mark.postgres
def test_mysql_to_supabase_and_the_planted_secret(project, tmp_path, e2b, databases):
    password, pg = databases
    pipeline = project / "pipeline.yaml"
    pipeline.write_text(MYSQL_TO_SUPABASE)
    assert run(str(pipeline), "--logs-dir", str(tmp_path / "warm-up")).exit_code == 0

    def table() -> list[tuple]:
        return pg.execute("SELECT * FROM movies ORDER BY movie_id").fetchall()

    local = run(str(pipeline), "--logs-dir", str(tmp_path / "local"))
    local_rows = table()
    pg.execute("DELETE FROM movies WHERE movie_id > 3")  # the remote run must restore them
    remote = run(str(pipeline), "--e2b", ALLOW, "--logs-dir", str(tmp_path / "remote"))
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert len(local_rows) == 10 and table() == local_rows
    local_dir, remote_dir = only_session(tmp_path / "local"), only_session(tmp_path / "remote")
    assert_same_run(local_dir, remote_dir, ordered=True)

    # the planted password: in no uploaded file, no session file, no output, no event ...
    decoy = "decoy-" + password
    uploaded = [data for _, data in e2b.envd.uploads]
    assert uploaded and not [u for u in uploaded if password.encode() in u]
    for data in uploaded:  # the bundle is compressed: look inside it
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            for member in bundle.namelist():
                assert password.encode() not in bundle.read(member), member
    assert_session_valid(remote_dir, secrets=[password, decoy])
    assert_no_secrets(tmp_path / "sandbox-home", [password, decoy])  # no sandbox file either
    connections = (tmp_path / "sandbox-home" / "osiris" / "connections.yaml").read_text()
    assert "${PARITY_MYSQL_PASSWORD}" in connections and "unused" not in connections
    # ... and only in the worker command's environment; no sweep took the decoy
    worker = [p for p in e2b.envd.started if "osiris.worker" in p.args[-1]]
    assert len(worker) == 1 and worker[0].envs["PARITY_MYSQL_PASSWORD"] == password
    others = [p for p in e2b.envd.started if p is not worker[0]]
    assert others and all(password not in json.dumps(p.envs) for p in others)
    for proc in e2b.envd.started:
        assert decoy not in json.dumps(proc.envs)
        assert not {"E2B_API_KEY", "DECOY_API_KEY"} & set(proc.envs)
    assert password not in remote.output


@pytest.mark.mysql
def test_a_local_host_is_refused_before_any_sandbox(project, tmp_path, e2b, databases):
    pipeline = project / "pipeline.yaml"
    pipeline.write_text(MYSQL_TO_SUPABASE)
    result = run(str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "l"))
    assert result.exit_code == 2
    assert "Connection '@mysql.planted' points at 127.0.0.1" in result.output
    assert "--e2b-allow-local-hosts" in result.output
    assert e2b.control.created == []
