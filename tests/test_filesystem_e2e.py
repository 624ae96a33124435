"""Filesystem components through `osiris run`: an OML file of the existing Osiris unchanged,
connections with base_dir, globs, format chains, and the errors a user sees."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def fs_e2e_cwd(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return work


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _pipeline(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('oml_version: "0.1.0"\n' + textwrap.dedent(body), encoding="utf-8")
    return path


def test_keboola_style_csv_duckdb_csv_runs_unchanged(tmp_path, fs_e2e_cwd):
    project = tmp_path / "kb"
    shutil.copytree(EXAMPLES / "keboola-style", project, ignore=shutil.ignore_patterns("output"))
    result = _run("run", str(project / "pipeline.yaml"))
    assert result.exit_code == 0, result.output
    assert (project / "output" / "sales_by_region.csv").read_text() == (
        '"region","product","units","revenue"\n'
        '"AMER","Doohickey",12,54.00\n'
        '"AMER","Gadget",1,249.00\n'
        '"AMER","Widget",5,99.95\n'
        '"APAC","Doohickey",3,13.50\n'
        '"APAC","Gadget",1,249.00\n'
        '"APAC","Widget",10,199.90\n'
        '"EMEA","Doohickey",7,31.50\n'
        '"EMEA","Gadget",2,498.00\n'
        '"EMEA","Widget",4,79.96\n'
    )


def test_connection_base_dir_glob_and_format_chain(tmp_path, fs_e2e_cwd, monkeypatch):
    lake = tmp_path / "lake"
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "2024-02.csv").write_text("id,amount,booked_at\n3,0.30,2024-02-01T00:00:00Z\n")
    (lake / "raw" / "2024-01.csv").write_text(
        "id,amount,booked_at\n1,10.10,2024-01-01T08:00:00+02:00\n2,2.05,2024-01-02T00:00:00Z\n"
    )
    monkeypatch.setenv("LAKE_DIR", str(lake))
    (fs_e2e_cwd / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  filesystem:\n    lake:\n      base_dir: ${LAKE_DIR}\n"
    )
    pipeline = _pipeline(
        tmp_path / "project" / "pipeline.yaml",
        """\
        name: lake-chain
        steps:
          - id: read-raw
            component: filesystem.csv_extractor
            mode: read
            config:
              connection: "@filesystem.lake"
              path: raw/*.csv
              schema: {amount: "decimal128(10,2)", booked_at: "timestamp[us, tz=UTC]"}
          - id: to-parquet
            component: filesystem.parquet_writer
            mode: write
            needs: [read-raw]
            config: {connection: "@filesystem.lake", path: curated/amounts.parquet}
          - id: total
            component: duckdb.processor
            mode: transform
            needs: [read-raw]
            config:
              query: SELECT count(*) AS n, sum(amount) AS total, min(booked_at) AS first_at FROM input_df
          - id: to-json
            component: filesystem.json_writer
            mode: write
            needs: [total]
            config: {path: out/total.jsonl}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 0, result.output
    table = pq.read_table(lake / "curated" / "amounts.parquet")
    assert [str(v) for v in table.column("amount").to_pylist()] == ["10.10", "2.05", "0.30"]
    assert table.column("id").to_pylist() == [1, 2, 3]
    # relative paths without a connection resolve against the pipeline file, not the cwd
    assert (tmp_path / "project" / "out" / "total.jsonl").read_text() == (
        '{"n":3,"total":"12.45","first_at":"2024-01-01 06:00:00.000000Z"}\n'
    )
    assert not (fs_e2e_cwd / "out").exists()


def test_missing_input_file_fails_with_one_sentence(tmp_path, fs_e2e_cwd):
    pipeline = _pipeline(
        tmp_path / "p" / "pipeline.yaml",
        """\
        name: missing
        steps:
          - {id: read, component: filesystem.csv_extractor, mode: read, config: {path: data/nope.csv}}
          - {id: write, component: filesystem.csv_writer, mode: write, needs: [read], config: {path: out/x.csv}}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 1
    expected = f"Step 'read': file {tmp_path / 'p' / 'data' / 'nope.csv'} does not exist."
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "p" / "out" / "x.csv").exists()


def test_bad_value_fails_the_run_and_leaves_no_output(tmp_path, fs_e2e_cwd):
    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    # the bad value sits past the first 4 MB block: the writer has started when it shows up
    rows = "".join(f"{i},{i}.50\n" for i in range(1, 400_000)) + "400000,n/a\n"
    (project / "data" / "prices.csv").write_text("id,price\n" + rows)
    pipeline = _pipeline(
        project / "pipeline.yaml",
        """\
        name: bad-value
        steps:
          - id: read
            component: filesystem.csv_extractor
            mode: read
            config: {path: data/prices.csv, schema: {price: "decimal128(10,2)"}}
          - {id: write, component: filesystem.parquet_writer, mode: write, needs: [read], config: {path: out/prices.parquet, row_group_size: 1000}}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 1
    assert (
        f"{project / 'data' / 'prices.csv'}: column 'price', row 400000 (line 400001): 'n/a' is not a valid"
        " decimal128(10, 2)."
    ) in result.output
    assert [p.name for p in (project / "out").iterdir()] == []  # no target, no temporary file


def test_unknown_input_table_lists_the_inputs(tmp_path, fs_e2e_cwd):
    project = tmp_path / "p"
    (project / "a.csv").parent.mkdir(parents=True)
    (project / "a.csv").write_text("x\n1\n")
    pipeline = _pipeline(
        project / "pipeline.yaml",
        """\
        name: bad-sql
        steps:
          - {id: read-a, component: filesystem.csv_extractor, mode: read, config: {path: a.csv}}
          - id: q
            component: duckdb.processor
            mode: transform
            needs: [read-a]
            config: {query: SELECT * FROM df_read_b}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 1
    assert (
        "Step 'q': the query uses table df_read_b, which is not an input of this step; the inputs"
        " are: df_read_a, input_df."
    ) in result.output


def test_late_bad_value_behind_duckdb_is_blamed_on_the_extractor(tmp_path, fs_e2e_cwd):
    project = tmp_path / "p"
    project.mkdir()
    (project / "in.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(400_000)) + "oops\n")
    pipeline = _pipeline(
        project / "pipeline.yaml",
        """\
        name: late-error
        steps:
          - {id: read, component: filesystem.csv_extractor, mode: read, config: {path: in.csv, schema: {n: int64}}}
          - {id: agg, component: duckdb.processor, mode: transform, needs: [read], config: {query: "SELECT sum(n) AS s FROM input_df"}}
          - {id: write, component: filesystem.csv_writer, mode: write, needs: [agg], config: {path: out.csv}}
        """,
    )
    result = _run("run", str(pipeline))
    assert result.exit_code == 1
    assert (
        f"Step 'read': {project / 'in.csv'}: column 'n', row 400001 (line 400002): 'oops' is not"
        " a valid int64."
    ) in result.output
    assert "DuckDB" not in result.output
    assert sorted(p.name for p in project.iterdir()) == ["in.csv", "pipeline.yaml"]
