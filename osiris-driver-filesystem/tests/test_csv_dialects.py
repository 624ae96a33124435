"""CSV options of the existing Osiris and the dialect corners real files have."""

from __future__ import annotations

import decimal
import gzip

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_filesystem.csv_io import CsvExtractor, CsvWriter


def _write(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)


def test_semicolon_quotes_embedded_newlines_and_crlf(tmp_path, fs_run):
    _write(
        tmp_path,
        "a.csv",
        b'id;name;note\r\n1;"Smith; John";"line1\r\nline2"\r\n2;"say ""hi""";\r\n',
    )
    table, rec = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "delimiter": ";"})
    assert table.to_pylist() == [
        {"id": 1, "name": "Smith; John", "note": "line1\r\nline2"},
        {"id": 2, "name": 'say "hi"', "note": None},
    ]
    assert rec.metric("rows_read") == 2
    assert rec.metric("bytes_read") == (tmp_path / "a.csv").stat().st_size


def test_tab_delimited_with_custom_quote(tmp_path, fs_run):
    _write(tmp_path, "a.tsv", b"a\tb\n'x\ty'\t2\n")
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "a.tsv", "delimiter": "\t", "quotechar": "'"}
    )
    assert table.to_pylist() == [{"a": "x\ty", "b": 2}]


def test_empty_field_is_null_and_quoted_empty_is_empty_string(tmp_path, fs_run):
    _write(tmp_path, "a.csv", b'a,b\n"",1\n,2\nNA,3\n')
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})
    assert table.column("a").to_pylist() == ["", None, "NA"]
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "na_values": ["NA", ""]})
    assert table.column("a").to_pylist() == ["", None, None]


def test_no_header_with_and_without_column_names(tmp_path, fs_run):
    _write(tmp_path, "a.csv", b"1,x\n2,y\n")
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "a.csv", "header": False, "columns": ["id", "name"]}
    )
    assert table.to_pylist() == [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "header": False})
    assert table.column_names == ["f0", "f1"]


def test_columns_select_and_order_with_header(tmp_path, fs_run):
    _write(tmp_path, "a.csv", b"a,b,c\n1,2,3\n")
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "columns": ["c", "a"]})
    assert table.to_pylist() == [{"c": 3, "a": 1}]


def test_skip_rows_and_limit(tmp_path, fs_run):
    _write(
        tmp_path,
        "a.csv",
        b"# exported by tool\n# 2024\nn\n" + b"".join(b"%d\n" % i for i in range(100)),
    )
    table, rec = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "skip_rows": 2, "limit": 5})
    assert table.column("n").to_pylist() == [0, 1, 2, 3, 4]
    assert rec.metric("rows_read") == 5


def test_latin1_read_and_write(tmp_path, fs_run):
    _write(tmp_path, "in.csv", "name\nJosé\nMüller\n".encode("latin-1"))
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "in.csv", "encoding": "latin-1"})
    assert table.column("name").to_pylist() == ["José", "Müller"]
    fs_run(CsvWriter(), tmp_path, {"path": "out.csv", "encoding": "latin-1"}, table)
    assert (tmp_path / "out.csv").read_bytes() == '"name"\n"José"\n"Müller"\n'.encode("latin-1")


def test_writer_value_outside_the_encoding_is_an_error(tmp_path, fs_run):

    with pytest.raises(StepError, match="cannot be written in encoding latin-1"):
        fs_run(
            CsvWriter(), tmp_path, {"path": "o.csv", "encoding": "latin-1"}, pa.table({"s": ["🐎"]})
        )
    assert not (tmp_path / "o.csv").exists()


def test_writer_crlf_quoting_delimiter_and_no_header(tmp_path, fs_run):
    table = pa.table({"a": [1, None], "b": ["x", "y;z"]})
    fs_run(
        CsvWriter(),
        tmp_path,
        {"path": "o.csv", "newline": "crlf", "delimiter": ";", "header": False},
        table,
    )
    assert (tmp_path / "o.csv").read_bytes() == b'1;"x"\r\n;"y;z"\r\n'
    fs_run(CsvWriter(), tmp_path, {"path": "q.csv", "quoting": "all"}, table)
    assert (tmp_path / "q.csv").read_bytes() == b'"a","b"\n"1","x"\n,"y;z"\n'
    fs_run(
        CsvWriter(),
        tmp_path,
        {"path": "n.csv", "quoting": "none"},
        pa.table({"a": [1], "b": ["x"]}),
    )
    assert (tmp_path / "n.csv").read_bytes() == b"a,b\n1,x\n"


def test_gzip_input_detected_by_extension(tmp_path, fs_run):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2.50\n"))
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "a.csv.gz", "schema": {"b": "decimal128(5,2)"}}
    )
    assert table.to_pylist() == [{"a": 1, "b": decimal.Decimal("2.50")}]


def test_parse_dates_and_pinned_types(tmp_path, fs_run):
    _write(tmp_path, "a.csv", b"id,at,amount,flag\n1,2024-03-01 12:00:00,19.99,true\n")
    table, _ = fs_run(
        CsvExtractor(),
        tmp_path,
        {
            "path": "a.csv",
            "parse_dates": ["at"],
            "schema": {"amount": "decimal128(10,2)", "id": "int32"},
        },
    )
    assert table.schema == pa.schema(
        [
            ("id", pa.int32()),
            ("at", pa.timestamp("us")),
            ("amount", pa.decimal128(10, 2)),
            ("flag", pa.bool_()),
        ]
    )


def test_header_only_file_gives_no_rows(tmp_path, fs_run):
    _write(tmp_path, "a.csv", b"a,b\n")
    table, rec = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "schema": {"a": "int64"}})
    assert table.num_rows == 0 and table.column_names == ["a", "b"]
    assert rec.metric("rows_read") == 0


def test_large_file_streams_in_several_batches(tmp_path):
    from osiris.testing import make_context

    rows = 400_000
    (tmp_path / "big.csv").write_text("n,s\n" + "".join(f"{i},row {i}\n" for i in range(rows)))
    ctx, rec = make_context(tmp_path)
    reader = CsvExtractor().run(step_id="s", config={"path": "big.csv"}, inputs={}, ctx=ctx)["df"]
    total = batches = 0
    for batch in reader:
        total += batch.num_rows
        batches += 1
    assert total == rows and batches > 1
    assert rec.metric("rows_read") == rows


def test_existing_osiris_spellings(tmp_path, fs_run):
    """header: N, parse_dates: true, dtype (pandas names), chunk_size, skip_blank_lines."""
    (tmp_path / "a.csv").write_text(
        "exported 2024\nid,code,amount,at\n\n1,007,1.5,2024-01-01 10:00:00\n"
    )
    table, _ = fs_run(
        CsvExtractor(),
        tmp_path,
        {
            "path": "a.csv",
            "header": 1,
            "parse_dates": True,
            "dtype": {"code": "str", "id": "Int64", "amount": "float64", "at": "datetime64[ns]"},
            "schema": {"amount": "decimal128(5,2)"},
            "chunk_size": 10_000,
        },
    )
    assert table.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("code", pa.string()),
            ("amount", pa.decimal128(5, 2)),
            ("at", pa.timestamp("ns")),
        ]
    )
    assert table.column("code").to_pylist() == ["007"]
    table, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "a.csv", "header": 1, "skip_blank_lines": False}
    )
    assert table.column("id").to_pylist() == [None, 1]  # an empty line is a row of NULLs


def test_writer_accepts_nonnumeric_quoting_and_chunk_size(tmp_path, fs_run):
    table = pa.table({"a": [1], "b": ["x"]})
    fs_run(
        CsvWriter(), tmp_path, {"path": "o.csv", "quoting": "nonnumeric", "chunk_size": 5}, table
    )
    assert (tmp_path / "o.csv").read_text() == '"a","b"\n1,"x"\n'


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", None)])
def test_writer_signature_encodings_write_one_bom(tmp_path, fs_run, encoding, bom):
    """pyarrow writes the header and each batch separately: the BOM must come once, at the
    start, not before every chunk (where it would become part of a value)."""
    table = pa.Table.from_batches(pa.table({"s": ["x", "é", "y"]}).to_batches(max_chunksize=1))
    fs_run(CsvWriter(), tmp_path, {"path": "o.csv", "encoding": encoding}, table)
    data = (tmp_path / "o.csv").read_bytes()
    assert data == '"s"\n"x"\n"é"\n"y"\n'.encode(encoding)
    if bom:
        assert data.count(bom) == 1
    back, _ = fs_run(CsvExtractor(), tmp_path, {"path": "o.csv", "encoding": encoding})
    assert back.column("s").to_pylist() == ["x", "é", "y"]


def test_writer_compression_with_another_encoding(tmp_path, fs_run):
    """The compressed stream under the transcoder must be closed, or the file holds nothing."""
    table = pa.table({"name": ["José", "Müller"]})
    config = {"path": "o.csv.gz", "encoding": "latin-1", "compression": "gzip"}
    fs_run(CsvWriter(), tmp_path, config, table)
    data = gzip.decompress((tmp_path / "o.csv.gz").read_bytes())
    assert data == '"name"\n"José"\n"Müller"\n'.encode("latin-1")
    back, _ = fs_run(CsvExtractor(), tmp_path, {"path": "o.csv.gz", "encoding": "latin-1"})
    assert back.column("name").to_pylist() == ["José", "Müller"]


def test_writer_unknown_encoding(tmp_path, fs_run):
    with pytest.raises(StepError) as err:
        fs_run(
            CsvWriter(), tmp_path, {"path": "o.csv", "encoding": "klingon"}, pa.table({"a": [1]})
        )
    assert str(err.value) == "Step 'step': unknown encoding 'klingon'."
    assert list(tmp_path.glob("*o.csv*")) == []


def test_whole_numbers_beyond_int64_are_not_read_as_floats(tmp_path, fs_run):
    """pyarrow would infer float64 and drop the last digits of a 20-digit id: they are read as
    a decimal instead, exact, and a pinned type wins."""
    _write(tmp_path, "ids.csv", b"id,x\n1,0.5\n12345678901234567891,1.5\n")
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "ids.csv"})
    assert table.schema == pa.schema([("id", pa.decimal128(38, 0)), ("x", pa.float64())])
    assert table.column("id").to_pylist() == [1, 12345678901234567891]
    pinned, _ = fs_run(
        CsvExtractor(), tmp_path, {"path": "ids.csv", "schema": {"id": "decimal128(38, 0)"}}
    )
    assert pinned.column("id").to_pylist() == [
        decimal.Decimal(1),
        decimal.Decimal("12345678901234567891"),
    ]
    assert pinned.column("x").to_pylist() == [0.5, 1.5]  # a real float column stays one
