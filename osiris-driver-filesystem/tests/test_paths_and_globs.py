"""Paths resolve against a filesystem connection's base_dir, else the pipeline's directory;
globs read every match in sorted order and insist on one schema."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_filesystem.csv_io import CsvExtractor, CsvWriter
from osiris_driver_filesystem.json_io import JsonExtractor
from osiris_driver_filesystem.parquet_io import ParquetExtractor, ParquetWriter


def test_glob_reads_matches_in_sorted_order(tmp_path, fs_run):
    (tmp_path / "in").mkdir()
    for name, rows in [
        ("b_2024-02.csv", "3\n4\n"),
        ("a_2024-01.csv", "1\n2\n"),
        ("c_2024-03.csv", "5\n"),
    ]:
        (tmp_path / "in" / name).write_text("n\n" + rows)
    (tmp_path / "in" / "notes.txt").write_text("ignored")
    table, rec = fs_run(CsvExtractor(), tmp_path, {"path": "in/*.csv"})
    assert table.column("n").to_pylist() == [1, 2, 3, 4, 5]
    assert rec.metric("rows_read") == 5
    files = dict(rec.events)["files_matched"]["files"]
    assert [f.rsplit("/", 1)[1] for f in files] == [
        "a_2024-01.csv",
        "b_2024-02.csv",
        "c_2024-03.csv",
    ]


def test_glob_limit_stops_across_files(tmp_path, fs_run):
    for i in range(3):
        (tmp_path / f"p{i}.jsonl").write_text(
            "".join(f'{{"n": {i * 10 + j}}}\n' for j in range(10))
        )
    table, _ = fs_run(JsonExtractor(), tmp_path, {"path": "p*.jsonl", "limit": 15})
    assert table.column("n").to_pylist() == list(range(15))


def test_recursive_glob_over_parquet(tmp_path, fs_run):
    for part in ("2024/01", "2024/02"):
        (tmp_path / "wh" / part).mkdir(parents=True)
        fs_run(ParquetWriter(), tmp_path, {"path": f"wh/{part}/x.parquet"}, pa.table({"p": [part]}))
    table, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "wh/**/*.parquet"})
    assert table.column("p").to_pylist() == ["2024/01", "2024/02"]


def test_glob_with_different_columns_is_an_error(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("id,name\n1,x\n")
    (tmp_path / "b.csv").write_text("id,title\n2,y\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "*.csv"}, step_id="load")
    message = str(err.value)
    assert message.startswith(
        f"Step 'load': {tmp_path / 'b.csv'} has columns (id int64, title string)"
    )
    assert "every file matched by the pattern must have the same schema" in message


def test_glob_later_files_use_the_first_files_types(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("v\n1.5\n")
    (tmp_path / "b.csv").write_text("v\n2\n")
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "*.csv"})
    assert table.schema.field("v").type == pa.float64()
    assert table.column("v").to_pylist() == [1.5, 2.0]


def test_parquet_glob_with_different_types_is_an_error(tmp_path, fs_run):
    fs_run(
        ParquetWriter(), tmp_path, {"path": "a.parquet"}, pa.table({"v": pa.array([1], pa.int32())})
    )
    fs_run(
        ParquetWriter(), tmp_path, {"path": "b.parquet"}, pa.table({"v": pa.array([1], pa.int64())})
    )
    with pytest.raises(
        StepError, match=r"b.parquet has columns \(v int64\) but .*a.parquet has \(v int32\)"
    ):
        fs_run(ParquetExtractor(), tmp_path, {"path": "*.parquet"})
    table, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "*.parquet", "schema": {"v": "int64"}})
    assert table.column("v").to_pylist() == [1, 1]


def test_connection_base_dir_is_honoured(tmp_path, fs_run):
    pipeline_dir = tmp_path / "project"
    data_dir = tmp_path / "lake"
    pipeline_dir.mkdir()
    data_dir.mkdir()
    (data_dir / "in.csv").write_text("a\n7\n")
    conn = {"base_dir": str(data_dir)}
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "in.csv"}, connection=conn, base_dir=pipeline_dir
    )
    assert table.to_pylist() == [{"a": 7}]
    fs_run(
        CsvWriter(), tmp_path, {"path": "out/o.csv"}, table, connection=conn, base_dir=pipeline_dir
    )
    assert (data_dir / "out" / "o.csv").read_text() == '"a"\n7\n'
    assert not (pipeline_dir / "out").exists()


def test_relative_connection_base_dir_is_relative_to_the_pipeline(tmp_path, fs_run):
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "project" / "data" / "in.csv").write_text("a\n1\n")
    table, _ = fs_run(
        CsvExtractor(),
        tmp_path,
        {"path": "in.csv"},
        connection={"base_dir": "data"},
        base_dir=tmp_path / "project",
    )
    assert table.to_pylist() == [{"a": 1}]


def test_without_connection_paths_are_relative_to_the_pipeline_dir(tmp_path, fs_run, monkeypatch):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "in.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "in.csv"}, base_dir=tmp_path / "p")
    assert table.num_rows == 1


def test_glob_under_a_directory_whose_name_looks_like_a_pattern(tmp_path, fs_run):
    odd = tmp_path / "data[2024]"
    odd.mkdir()
    (odd / "a.csv").write_text("n\n1\n")
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "*.csv"}, connection={"base_dir": str(odd)}
    )
    assert table.to_pylist() == [{"n": 1}]


def test_writer_parent_that_is_a_file(tmp_path, fs_run):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(
        StepError, match=r"cannot create directory .*blocker/sub \(Not a directory\)"
    ):
        fs_run(CsvWriter(), tmp_path, {"path": "blocker/sub/o.csv"}, pa.table({"a": [1]}))


def test_a_connection_of_another_family_is_refused(tmp_path):
    from osiris.testing import make_context

    (tmp_path / "a.csv").write_text("n\n1\n")
    ctx, _ = make_context(tmp_path, step_id="load", connection={"host": "db"})
    ctx.connection_ref = "@mysql.default"
    with pytest.raises(StepError) as err:
        CsvExtractor().run(step_id="load", config={"path": "a.csv"}, inputs={}, ctx=ctx)
    assert str(err.value) == (
        "Step 'load': connection @mysql.default is not a filesystem connection. Use connection:"
        " '@filesystem.<alias>' (a base_dir) or no connection."
    )
