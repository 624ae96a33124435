"""Every format keeps every type: write with a writer, read back with the extractor."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_filesystem.csv_io import CsvExtractor, CsvWriter
from osiris_driver_filesystem.json_io import JsonExtractor, JsonWriter
from osiris_driver_filesystem.parquet_io import ParquetExtractor, ParquetWriter

FORMATS = {
    "csv": (CsvWriter, CsvExtractor, "out/t.csv", {}),
    "csv_gzip": (CsvWriter, CsvExtractor, "out/t.csv.gz", {"compression": "gzip"}),
    "jsonl": (JsonWriter, JsonExtractor, "out/t.jsonl", {}),
    "json_array": (JsonWriter, JsonExtractor, "out/t.json", {"format": "array"}),
    "parquet": (ParquetWriter, ParquetExtractor, "out/t.parquet", {}),
    "parquet_zstd": (ParquetWriter, ParquetExtractor, "out/t.parquet", {"compression": "zstd"}),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_type_survives_a_round_trip(tmp_path, fs_typed_table, fmt, fs_run, fs_types):
    writer, extractor, path, extra = FORMATS[fmt]
    _, rec = fs_run(writer(), tmp_path, {"path": path, **extra}, fs_typed_table)
    assert rec.metric("rows_written") == 4
    assert rec.metric("bytes_written") == (tmp_path / path).stat().st_size
    config = {"path": path} if fmt.startswith("parquet") else {"path": path, "schema": fs_types}
    back, rec = fs_run(extractor(), tmp_path, config)
    assert back.schema == fs_typed_table.schema
    assert back.to_pylist() == fs_typed_table.to_pylist()
    assert rec.metric("rows_read") == 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_writers_are_deterministic(tmp_path, fs_typed_table, fmt, fs_run):
    writer, _, path, extra = FORMATS[fmt]
    fs_run(writer(), tmp_path, {"path": path, **extra}, fs_typed_table)
    first = (tmp_path / path).read_bytes()
    # the same rows in different batch boundaries give the same bytes for text formats
    again = pa.Table.from_batches(fs_typed_table.to_batches(max_chunksize=1))
    fs_run(writer(), tmp_path, {"path": path, **extra}, again)
    if fmt.startswith("parquet"):
        fs_run(writer(), tmp_path, {"path": path, **extra}, fs_typed_table)
    assert (tmp_path / path).read_bytes() == first


def test_csv_text_is_exact(tmp_path, fs_typed_table, fs_run):
    fs_run(CsvWriter(), tmp_path, {"path": "t.csv"}, fs_typed_table.slice(0, 3))
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == (
        '"i","f","d","s","ts","tz","dt","b","bin"\n'
        '1,0.1,12.50,"a\n""b"", ü",2024-01-01 10:00:00.123456,2024-01-01 10:00:00.000000Z,'
        '2024-01-02,true,"AP8="\n'
        ",,,,,,,,\n"
        '-9223372036854775808,-2.5e-300,-0.01,"",1999-12-31 00:00:00.000000,'
        '2024-06-01 23:59:59.000001Z,1970-01-01,false,""\n'
    )


def test_json_text_is_exact(tmp_path, fs_typed_table, fs_run):
    fs_run(JsonWriter(), tmp_path, {"path": "t.jsonl"}, fs_typed_table.slice(0, 2))
    assert (tmp_path / "t.jsonl").read_text(encoding="utf-8") == (
        '{"i":1,"f":0.1,"d":"12.50","s":"a\\n\\"b\\", ü","ts":"2024-01-01 10:00:00.123456",'
        '"tz":"2024-01-01 10:00:00.000000Z","dt":"2024-01-02","b":true,"bin":"AP8="}\n'
        '{"i":null,"f":null,"d":null,"s":null,"ts":null,"tz":null,"dt":null,"b":null,"bin":null}\n'
    )


def test_json_array_layout(tmp_path, fs_run):
    table = pa.table({"a": [1, 2]})
    fs_run(JsonWriter(), tmp_path, {"path": "a.json", "format": "array"}, table)
    assert (tmp_path / "a.json").read_text() == '[\n{"a":1},\n{"a":2}\n]\n'
    fs_run(JsonWriter(), tmp_path, {"path": "e.json", "format": "array"}, table.slice(0, 0))
    assert (tmp_path / "e.json").read_text() == "[]\n"
    back, _ = fs_run(JsonExtractor(), tmp_path, {"path": "e.json"})
    assert back.num_rows == 0


def test_column_order_follows_the_data_unless_sorted(tmp_path, fs_run):
    table = pa.table({"zeta": [1], "alpha": ["x"], "mid": [True]})
    fs_run(CsvWriter(), tmp_path, {"path": "a.csv"}, table)
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == '"zeta","alpha","mid"'
    fs_run(CsvWriter(), tmp_path, {"path": "b.csv", "sort_columns": True}, table)
    assert (tmp_path / "b.csv").read_text().splitlines() == ['"alpha","mid","zeta"', '"x",true,1']
    fs_run(JsonWriter(), tmp_path, {"path": "c.jsonl", "sort_columns": True}, table)
    assert (tmp_path / "c.jsonl").read_text() == '{"alpha":"x","mid":true,"zeta":1}\n'
    back, _ = fs_run(JsonExtractor(), tmp_path, {"path": "c.jsonl"})
    assert back.column_names == ["alpha", "mid", "zeta"]


def test_timezone_name_kept_by_parquet(tmp_path, fs_run):
    table = pa.table({"t": pa.array([0, None], pa.timestamp("ns", tz="Europe/Prague"))})
    fs_run(ParquetWriter(), tmp_path, {"path": "t.parquet"}, table)
    back, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "t.parquet"})
    assert back.schema == table.schema and back.equals(table)


def test_parquet_row_groups_of_wide_rows_are_cut_by_size(tmp_path, fs_run, monkeypatch):
    """Memory is bounded by bytes, not only rows: 10 KB rows never fill a 1M-row group."""
    import pyarrow.parquet as pq
    from osiris_driver_filesystem import parquet_io

    monkeypatch.setattr(parquet_io, "_ROW_GROUP_BYTES", 1024 * 1024)
    wide = [pa.record_batch({"t": ["x" * 10_000] * 10}) for _ in range(100)]  # 10 MB in all
    table = pa.Table.from_batches(wide)
    fs_run(ParquetWriter(), tmp_path, {"path": "w.parquet", "row_group_size": 1_000_000}, table)
    meta = pq.ParquetFile(tmp_path / "w.parquet").metadata
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert groups == [110] * 9 + [10]  # 11 batches of ~100 KB reach 1 MiB


def test_parquet_dictionaries_only_where_they_pay(tmp_path, fs_run):
    """Unique values fall back to plain encoding early; repeated ones keep their dictionary."""
    import pyarrow.parquet as pq

    n = 65_536
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),  # unique: a dictionary only adds bytes
            "kind": [f"kind-{i % 50}" for i in range(n)],  # 50 distinct values
        }
    )
    config = {"path": "d.parquet", "compression": "none"}
    fs_run(ParquetWriter(), tmp_path, config, table)
    pq.write_table(table, tmp_path / "plain.parquet", compression="none", use_dictionary=False)
    pq.write_table(table, tmp_path / "pyarrow.parquet", compression="none")

    def column_bytes(name: str, column: int) -> int:
        return (
            pq.ParquetFile(tmp_path / name)
            .metadata.row_group(0)
            .column(column)
            .total_compressed_size
        )

    plain_id = column_bytes("plain.parquet", 0)
    assert column_bytes("pyarrow.parquet", 0) > 1.2 * plain_id  # the default's overhead
    assert column_bytes("d.parquet", 0) < 1.1 * plain_id
    assert column_bytes("d.parquet", 1) < column_bytes("plain.parquet", 1) / 5  # still a dictionary
    assert pq.read_table(tmp_path / "d.parquet").equals(table)


def test_parquet_streams_row_groups_and_batches(tmp_path, fs_run):
    table = pa.table({"n": pa.array(range(10_000), pa.int64())})
    fs_run(ParquetWriter(), tmp_path, {"path": "n.parquet", "row_group_size": 3000}, table)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "n.parquet").num_row_groups == 4
    ctx, rec = make_context(tmp_path)
    reader = ParquetExtractor().run(
        step_id="s", config={"path": "n.parquet", "batch_size": 1000}, inputs={}, ctx=ctx
    )["df"]
    sizes = [b.num_rows for b in reader]
    assert max(sizes) <= 1000 and sum(sizes) == 10_000
    assert rec.metric("rows_read") == 10_000


def test_parquet_columns_limit_and_pinned_cast(tmp_path, fs_run):
    table = pa.table({"a": pa.array([1, 2, 3], pa.int32()), "b": ["x", "y", "z"]})
    fs_run(ParquetWriter(), tmp_path, {"path": "t.parquet"}, table)
    back, rec = fs_run(
        ParquetExtractor(),
        tmp_path,
        {"path": "t.parquet", "columns": ["b", "a"], "limit": 2, "schema": {"a": "int64"}},
    )
    assert back.schema == pa.schema([("b", pa.string()), ("a", pa.int64())])
    assert back.to_pylist() == [{"b": "x", "a": 1}, {"b": "y", "a": 2}]
    assert rec.metric("rows_read") == 2


def test_writer_streams_from_a_live_reader(tmp_path, fs_run):
    """A writer consumes a single-use stream batch by batch."""
    schema = pa.schema([("n", pa.int64())])
    batches = (pa.record_batch([pa.array([i] * 10)], schema=schema) for i in range(5))
    ctx, rec = make_context(tmp_path)
    data = StepData.from_reader(pa.RecordBatchReader.from_batches(schema, batches))
    ParquetWriter().run(step_id="w", config={"path": "s.parquet"}, inputs={"df_a": data}, ctx=ctx)
    assert rec.metric("rows_written") == 50


def test_json_array_streams_element_by_element(tmp_path):
    rows = 200_000
    body = ",\n".join(f'  {{"n": {i}, "s": "row {i}", "v": 1.50}}' for i in range(rows))
    (tmp_path / "big.json").write_text("[\n" + body + "\n]\n")
    ctx, rec = make_context(tmp_path)
    reader = JsonExtractor().run(step_id="s", config={"path": "big.json"}, inputs={}, ctx=ctx)["df"]
    sizes = [b.num_rows for b in reader]
    assert len(sizes) > 1 and sum(sizes) == rows
    assert rec.metric("rows_read") == rows


def test_json_array_keeps_exact_number_text_and_odd_layout(tmp_path, fs_run):
    (tmp_path / "a.json").write_text(
        ' \n[{"id": 1,\n "price": 0.10000000000000000001, "tags": ["a", "b"],\n'
        ' "meta": {"k": "line\\nbreak"}} ,{"id":2,"price":2,"tags":[],"meta":{"k":null}}]'
    )
    table, _ = fs_run(
        JsonExtractor(), tmp_path, {"path": "a.json", "schema": {"price": "decimal128(22,20)"}}
    )
    assert table.column("price").to_pylist()[0] == __import__("decimal").Decimal(
        "0.10000000000000000001"
    )
    assert table.column("tags").to_pylist() == [["a", "b"], []]
    assert table.column("meta").to_pylist() == [{"k": "line\nbreak"}, {"k": None}]


def test_nested_types_round_trip_through_json_and_parquet(tmp_path, fs_run):
    table = pa.table(
        {
            "id": [1, 2],
            "tags": pa.array([["x", "ü"], None], pa.list_(pa.string())),
            "meta": pa.array([{"a": 1, "b": "q"}, {"a": None, "b": None}]),
        }
    )
    fs_run(JsonWriter(), tmp_path, {"path": "n.jsonl"}, table)
    assert (tmp_path / "n.jsonl").read_text().splitlines()[
        0
    ] == '{"id":1,"tags":["x","ü"],"meta":{"a":1,"b":"q"}}'
    back, _ = fs_run(JsonExtractor(), tmp_path, {"path": "n.jsonl"})
    assert back.to_pylist() == table.to_pylist()
    fs_run(ParquetWriter(), tmp_path, {"path": "n.parquet"}, table)
    back, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "n.parquet"})
    assert back.equals(table)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_zoned_timestamps_keep_zone_and_nanoseconds(tmp_path, fs_run, fmt):
    table = pa.table(
        {
            "prague": pa.array(
                [1_704_103_200_000_000, None], pa.timestamp("us", tz="Europe/Prague")
            ),
            "ny_ns": pa.array([1, -1], pa.timestamp("ns", tz="America/New_York")),
        }
    )
    writer, extractor, _, _ = FORMATS[fmt]
    fs_run(writer(), tmp_path, {"path": f"z.{fmt}"}, table)
    first_line = (tmp_path / f"z.{fmt}").read_text().splitlines()[1 if fmt == "csv" else 0]
    assert "2024-01-01 11:00:00.000000+0100" in first_line
    assert "1969-12-31 19:00:00.000000001-0500" in first_line
    schema = {
        "prague": "timestamp[us, tz=Europe/Prague]",
        "ny_ns": "timestamp[ns, tz=America/New_York]",
    }
    back, _ = fs_run(extractor(), tmp_path, {"path": f"z.{fmt}", "schema": schema})
    assert back.equals(table)


def test_parquet_extractor_memory_is_bounded_by_a_row_group(tmp_path, fs_run):
    """Arrow memory while streaming a 20-row-group file stays near one row group's size."""
    import pyarrow.parquet as pq

    group = pa.table(
        {"n": pa.array(range(100_000), pa.int64()), "s": pa.array(["x" * 40] * 100_000)}
    )
    with pq.ParquetWriter(tmp_path / "big.parquet", group.schema, compression="none") as writer:
        for _ in range(20):
            writer.write_table(group)
    group_bytes = group.nbytes
    ctx, _ = make_context(tmp_path)
    reader = ParquetExtractor().run(
        step_id="s", config={"path": "big.parquet"}, inputs={}, ctx=ctx
    )["df"]
    base = pa.total_allocated_bytes()
    peak = 0
    rows = 0
    for batch in reader:
        rows += batch.num_rows
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert rows == 2_000_000
    assert peak < 3 * group_bytes, (peak, group_bytes)  # 20 groups' worth without the fix


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json_array"])
def test_text_extractors_memory_is_bounded(tmp_path, fmt):
    """Arrow memory while streaming a ~100 MB file stays at pyarrow's bounded read-ahead of
    1 MiB blocks (measured about 36 MiB), not the file's size."""
    rows = 1_600_000
    name, driver = ("big.csv", CsvExtractor()) if fmt == "csv" else ("big.json", JsonExtractor())
    with open(tmp_path / name, "w") as out:
        out.write("n,s\n" if fmt == "csv" else "[" if fmt == "json_array" else "")
        for i in range(rows):
            if fmt == "csv":
                out.write(f"{i},{'y' * 50}\n")
            else:
                sep = ",\n" if fmt == "json_array" and i else ""
                out.write(
                    f'{sep}{{"n": {i}, "s": "{"y" * 50}"}}' + ("\n" if fmt == "jsonl" else "")
                )
        out.write("]" if fmt == "json_array" else "")
    size = (tmp_path / name).stat().st_size
    ctx, _ = make_context(tmp_path)
    base = pa.total_allocated_bytes()
    reader = driver.run(step_id="s", config={"path": name}, inputs={}, ctx=ctx)["df"]
    peak = pa.total_allocated_bytes() - base
    total = 0
    for batch in reader:
        total += batch.num_rows
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert total == rows
    assert size > 80 << 20 and peak < 48 << 20, (peak, size)


def test_json_array_with_a_byte_order_mark(tmp_path, fs_run):
    """format: auto already skipped a UTF-8 BOM to see the '[', the array reader must too."""
    (tmp_path / "a.json").write_bytes('\ufeff [{"a": 1}, {"a": 2}]'.encode())
    table, _ = fs_run(JsonExtractor(), tmp_path, {"path": "a.json"})
    assert table.column("a").to_pylist() == [1, 2]


@pytest.mark.parametrize("name", ["ids.jsonl", "ids.json"])
def test_json_whole_numbers_beyond_int64_are_not_read_as_floats(tmp_path, fs_run, name):
    """pyarrow would infer float64 and drop the last digits of a 20-digit id."""
    rows = [{"id": 1, "x": 0.5}, {"id": 12345678901234567891, "x": 1}]
    text = "\n".join(json.dumps(r) for r in rows)
    (tmp_path / name).write_text(
        f"[{text.replace(chr(10), ',')}]" if name.endswith(".json") else text
    )
    with pytest.raises(StepError, match=r"field 'id' holds whole numbers beyond int64") as err:
        fs_run(JsonExtractor(), tmp_path, {"path": name})
    assert "12345678901234567891" in str(err.value)
    pinned, _ = fs_run(
        JsonExtractor(), tmp_path, {"path": name, "schema": {"id": "decimal128(38, 0)"}}
    )
    assert pinned.column("id").to_pylist() == [1, 12345678901234567891]
    assert pinned.column("x").to_pylist() == [0.5, 1.0]  # floats with a whole number stay floats


def test_parquet_keeps_second_units(tmp_path, fs_run):
    """Parquet has no seconds unit; read back as milliseconds, 10:00:00 would print 10:00:00.000."""
    table = pa.table(
        {
            "ts": pa.array([0, None], pa.timestamp("s")),
            "tz": pa.array([86_399, 1], pa.timestamp("s", tz="Europe/Prague")),
            "t": pa.array([36_000, None], pa.time32("s")),
            "ms": pa.array([1, 2], pa.timestamp("ms")),
        }
    )
    fs_run(ParquetWriter(), tmp_path, {"path": "t.parquet"}, table)
    back, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "t.parquet"})
    assert back.schema == table.schema
    assert back.to_pylist() == table.to_pylist()
