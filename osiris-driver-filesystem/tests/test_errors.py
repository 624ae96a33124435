"""Bad input gives one clear sentence naming the step, the file and, where known, column and row."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_filesystem.csv_io import CsvExtractor, CsvWriter
from osiris_driver_filesystem.json_io import JsonExtractor, JsonWriter
from osiris_driver_filesystem.parquet_io import ParquetExtractor, ParquetWriter

EXTRACTORS = [CsvExtractor, JsonExtractor, ParquetExtractor]
WRITERS = [CsvWriter, JsonWriter, ParquetWriter]


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_missing_file(tmp_path, fs_run, extractor):
    with pytest.raises(StepError) as err:
        fs_run(extractor(), tmp_path, {"path": "nope.dat"}, step_id="load")
    assert str(err.value) == f"Step 'load': file {tmp_path / 'nope.dat'} does not exist."


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_glob_matching_nothing(tmp_path, fs_run, extractor):
    with pytest.raises(
        StepError, match=r"^Step 'load': the pattern 'in/\*\.x' matches no file under"
    ):
        fs_run(extractor(), tmp_path, {"path": "in/*.x"}, step_id="load")


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_directory_where_a_file_is_expected(tmp_path, fs_run, extractor):
    (tmp_path / "data").mkdir()
    with pytest.raises(StepError, match=r"data is a directory, expected a file"):
        fs_run(extractor(), tmp_path, {"path": "data"})


@pytest.mark.parametrize("writer", WRITERS)
def test_writer_target_is_a_directory(tmp_path, fs_run, writer):
    (tmp_path / "out").mkdir()
    with pytest.raises(StepError, match=r"out is a directory, expected a file path to write"):
        fs_run(writer(), tmp_path, {"path": "out"}, pa.table({"a": [1]}))


@pytest.mark.parametrize("writer", WRITERS)
def test_writer_missing_directory_without_create_dirs(tmp_path, fs_run, writer):
    with pytest.raises(StepError, match=r"does not exist\. Create it or set create_dirs: true\."):
        fs_run(writer(), tmp_path, {"path": "no/x.out", "create_dirs": False}, pa.table({"a": [1]}))
    fs_run(writer(), tmp_path, {"path": "yes/deeper/x.out"}, pa.table({"a": [1]}))
    assert (tmp_path / "yes/deeper/x.out").is_file()


def test_malformed_csv_names_the_row(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("a,b\n1,2\n3,4\n5,6,7\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"}, step_id="load")
    assert str(err.value) == (
        f"Step 'load': {tmp_path / 'a.csv'}: malformed CSV at line 4:"
        " expected 2 columns, got 3. Check the delimiter and quoting."
    )


def test_malformed_csv_line_counts_multiline_values_and_skipped_rows(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text('# exported\na,b\n1,"x\ny"\n2,3\n4,5,6\n')
    with pytest.raises(
        StepError, match=r"a.csv: malformed CSV at line 6: expected 2 columns, got 3\."
    ):
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "skip_rows": 1})


def test_malformed_csv_after_the_first_block(tmp_path, fs_run):
    body = "".join(f"{i},x\n" for i in range(300_000))
    (tmp_path / "a.csv").write_text("a,b\n" + body + "1,2,3\n")
    with pytest.raises(StepError, match=r"malformed CSV at line 300002: expected 2 columns, got 3"):
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})


# "ten" does not parse; the other two parse but do not fit, where pyarrow's own message
# ("Rescaling Decimal value would cause data loss") names no value.
@pytest.mark.parametrize("value", ["ten", "10.555", "123456789012.5"])
def test_value_not_matching_a_pinned_type_names_column_and_row(tmp_path, fs_run, value):
    (tmp_path / "a.csv").write_text(f"id,amount\n1,10.5\n2,{value}\n3,1\n")
    with pytest.raises(StepError) as err:
        fs_run(
            CsvExtractor(),
            tmp_path,
            {"path": "a.csv", "schema": {"amount": "decimal128(10,2)"}},
            step_id="load",
        )
    assert str(err.value) == (
        f"Step 'load': {tmp_path / 'a.csv'}: column 'amount', row 2 (line 3): '{value}' is not a"
        " valid decimal128(10, 2). Fix the data or change the type in schema:."
    )


def test_inferred_type_broken_later_in_the_file(tmp_path, fs_run):
    body = "".join(f"{i}\n" for i in range(1_000_000))
    (tmp_path / "a.csv").write_text("n\n" + body + "oops\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})
    assert "column 'n', row 1000001 (line 1000002): 'oops' is not a valid int64" in str(err.value)
    assert "schema: {n: string}" in str(err.value)


def test_invalid_utf8(tmp_path, fs_run):
    (tmp_path / "a.csv").write_bytes(b"name\n\xff\xfe bad\n")
    with pytest.raises(StepError, match=r"column 'name' is not valid utf-8 text. Set encoding:"):
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})


def test_bad_type_string_in_schema(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("a\n1\n")
    with pytest.raises(
        StepError, match=r"schema: column 'a' has type 'integer64', which is not an Arrow type"
    ):
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "schema": {"a": "integer64"}})


def test_parquet_pinned_type_that_does_not_fit(tmp_path, fs_run):
    fs_run(ParquetWriter(), tmp_path, {"path": "a.parquet"}, pa.table({"v": [1, 300, 2]}))
    with pytest.raises(StepError) as err:
        fs_run(ParquetExtractor(), tmp_path, {"path": "a.parquet", "schema": {"v": "int8"}})
    assert re.search(
        r"column 'v', row 2 \('300'\) does not fit the schema type int8", str(err.value)
    )


def test_parquet_unknown_column_and_garbage_file(tmp_path, fs_run):
    fs_run(ParquetWriter(), tmp_path, {"path": "a.parquet"}, pa.table({"v": [1]}))
    with pytest.raises(StepError, match=r"has no column 'w' \(it has: v\)"):
        fs_run(ParquetExtractor(), tmp_path, {"path": "a.parquet", "columns": ["w"]})
    (tmp_path / "b.parquet").write_text("not parquet")
    with pytest.raises(StepError, match=r"b.parquet is not a readable Parquet file"):
        fs_run(ParquetExtractor(), tmp_path, {"path": "b.parquet"})


def test_json_errors(tmp_path, fs_run):
    (tmp_path / "a.jsonl").write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(StepError, match=r"a.jsonl is not valid JSON"):
        fs_run(JsonExtractor(), tmp_path, {"path": "a.jsonl"})
    (tmp_path / "b.json").write_text('[{"a": 1} {"a": 2}]')
    with pytest.raises(StepError, match=r"b.json is not valid JSON \(expected ',' or ']'"):
        fs_run(JsonExtractor(), tmp_path, {"path": "b.json"})
    (tmp_path / "c.jsonl").write_text('{"d": "1.5"}\n{"d": "abc"}\n')
    with pytest.raises(
        StepError, match=r"field 'd', row 2 \('abc'\) is not a valid decimal128\(5, 2\)"
    ):
        fs_run(JsonExtractor(), tmp_path, {"path": "c.jsonl", "schema": {"d": "decimal128(5,2)"}})
    (tmp_path / "d.json").write_text('[{"d": 1.5}, {"d": 2}, {"d": 1.555}]')
    with pytest.raises(
        StepError, match=r"field 'd', row 3 \('1.555'\) is not a valid decimal128\(5, 2\)"
    ):
        fs_run(JsonExtractor(), tmp_path, {"path": "d.json", "schema": {"d": "decimal128(5,2)"}})


def test_json_writer_rejects_nan(tmp_path, fs_run):
    with pytest.raises(StepError, match=r"row 2 holds NaN or infinity"):
        fs_run(JsonWriter(), tmp_path, {"path": "a.jsonl"}, pa.table({"f": [1.0, float("nan")]}))
    assert not (tmp_path / "a.jsonl").exists()


def test_writer_needs_exactly_one_input(tmp_path):
    from osiris.stepdata import StepData
    from osiris.testing import make_context

    ctx, _ = make_context(tmp_path, step_id="w")
    data = {n: StepData.from_table(pa.table({"a": [1]})) for n in ("df_a", "df_b")}
    with pytest.raises(StepError, match=r"a writer needs exactly one input, got 2 \(df_a, df_b\)"):
        CsvWriter().run(step_id="w", config={"path": "x.csv"}, inputs=data, ctx=ctx)


def test_csv_writer_refuses_nested_types(tmp_path, fs_run):
    table = pa.table({"tags": pa.array([["a"]], pa.list_(pa.string()))})
    with pytest.raises(StepError, match=r"^Step 'step': cannot write CSV: .*Use parquet_writer"):
        fs_run(CsvWriter(), tmp_path, {"path": "n.csv"}, table)
    assert not (tmp_path / "n.csv").exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_record_larger_than_block_size(tmp_path, fs_run, fmt):
    big = "x" * (2 << 20)
    if fmt == "csv":
        (tmp_path / "a.csv").write_text(f'a\n"{big}"\nb\n')
        driver, name = CsvExtractor(), "a.csv"
    else:
        (tmp_path / "a.jsonl").write_text(f'{{"a": "{big}"}}\n{{"a": "b"}}\n')
        driver, name = JsonExtractor(), "a.jsonl"
    with pytest.raises(StepError) as err:
        fs_run(driver, tmp_path, {"path": name}, step_id="load")
    assert str(err.value) == (
        f"Step 'load': {tmp_path / name}: a record is larger than block_size (1048576 bytes)."
        " Raise block_size: in the step's config."
    )
    table, _ = fs_run(driver, tmp_path, {"path": name, "block_size": 4 << 20})
    assert table.column("a").to_pylist() == [big, "b"]


@pytest.mark.parametrize("tail", [' [{"a": 2}]', '\n{"a": 2}\n', ", 3"])
def test_json_array_followed_by_more_data(tmp_path, fs_run, tail):
    """Data after the closing ']' used to be dropped silently."""
    (tmp_path / "a.json").write_text('[{"a": 1}]' + tail)
    with pytest.raises(StepError) as err:
        fs_run(JsonExtractor(), tmp_path, {"path": "a.json"}, step_id="load")
    assert str(err.value) == (
        f"Step 'load': {tmp_path / 'a.json'} is not valid JSON (unexpected"
        f" {tail.strip()[0]!r} after the closing ']' of the array)."
    )
    (tmp_path / "b.json").write_text('[{"a": 1}]\n\n  ')
    table, _ = fs_run(JsonExtractor(), tmp_path, {"path": "b.json"})
    assert table.column("a").to_pylist() == [1]


def test_json_writer_refuses_duplicate_column_names(tmp_path, fs_run):
    """A JSON object keeps one value per key: the second 'id' silently replaced the first."""
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["id", "id"])
    with pytest.raises(StepError) as err:
        fs_run(JsonWriter(), tmp_path, {"path": "a.jsonl"}, table, step_id="save")
    assert str(err.value) == (
        "Step 'save': column 'id' appears more than once, and a JSON object can hold it only"
        " once. Give the columns distinct names (e.g. with AS in the SQL)."
    )
    assert list(tmp_path.glob("*a.jsonl*")) == []


def test_csv_columns_naming_a_missing_column(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "columns": ["a", "zz"]}, step_id="load")
    assert str(err.value) == f"Step 'load': {tmp_path / 'a.csv'} has no column 'zz' (it has: a, b)."


@pytest.mark.parametrize("name", ["a.jsonl", "a.json"])
def test_json_field_that_first_appears_after_the_first_block(tmp_path, fs_run, name):
    """pyarrow only said "unexpected field": name the field and its row, and pinning helps."""
    import json

    records = [{"a": i} for i in range(20_000)] + [{"a": 1, "late": "x"}]
    if name.endswith(".json"):
        (tmp_path / name).write_text(json.dumps(records))
    else:
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    config = {"path": name, "block_size": 65536}
    with pytest.raises(StepError) as err:
        fs_run(JsonExtractor(), tmp_path, config, step_id="load")
    assert str(err.value) == (
        f"Step 'load': {tmp_path / name}: field 'late' first appears in row 20001, which is not in"
        " the first block (65536 bytes) that the fields are taken from. Pin the field's type"
        " with schema: or raise block_size:."
    )
    table, _ = fs_run(JsonExtractor(), tmp_path, {**config, "schema": {"late": "string"}})
    assert table.num_rows == 20_001
    assert table.column("late").to_pylist()[-2:] == [None, "x"]
