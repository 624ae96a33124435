"""CSV inference never changes a value's text; no row is lost (issue 16)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_filesystem.csv_io import CsvExtractor, CsvWriter

# each column: its values as CSV fields (already quoted where CSV needs it), the values read back
# and, when the column must stay typed, its type
TEXT = {
    "leading zeros": (["01234", "00501", "007"], ["01234", "00501", "007"]),
    "leading plus": (["+5", "6"], ["+5", "6"]),
    "thousands": (['"1,000"', "12"], ["1,000", "12"]),
    "exponent among integers": (["1e5", "7"], ["1e5", "7"]),
    "mixed places": (["1.50", "2.5"], ["1.50", "2.5"]),
    "spaces": ([" 5", "6 "], [" 5", "6 "]),
    "nan spelling": (["NaN", "1.5"], ["NaN", "1.5"]),
    "inf spelling": (["Infinity", "-inf"], ["Infinity", "-inf"]),
    "mixed dates": (["2024-01-02", "2024/01/03"], ["2024-01-02", "2024/01/03"]),
    "bool mix": (["TRUE", "yes", "1"], ["TRUE", "yes", "1"]),
    "capital bools": (["True", "False"], ["True", "False"]),
    "T separator": (["2024-01-01T10:00:00"], ["2024-01-01T10:00:00"]),
    "offset": (["2024-01-01 10:00:00+02:00"], ["2024-01-01 10:00:00+02:00"]),
    "mixed fractions": (
        ["2024-01-01 10:00:00.5", "2024-01-01 10:00:00.123456"],
        ["2024-01-01 10:00:00.5", "2024-01-01 10:00:00.123456"],
    ),
    "short time": (["10:00"], ["10:00"]),
    "date and timestamp": (
        ["2024-01-01", "2024-01-01 10:00:00"],
        ["2024-01-01", "2024-01-01 10:00:00"],
    ),
    "negative zero": (["-0"], ["-0"]),
    "plus among decimals": (["+1.50", "2.25"], ["+1.50", "2.25"]),
}
TYPED = {
    "int": (["1", "-2", "0"], [1, -2, 0], pa.int64()),
    "float": (["0.1", "-2.5e-300", "1e+300"], [0.1, -2.5e-300, 1e300], pa.float64()),
    "places": (["1.50", "-249.00", "0.05"], None, pa.decimal128(38, 2)),
    "beyond int64": (["12345678901234567891", "-1"], None, pa.decimal128(38, 0)),
    "bool": (["true", "false"], [True, False], pa.bool_()),
    "date": (["2024-01-02", "0000-01-01"], None, pa.date32()),
    "seconds": (["2024-01-01 10:00:00"], None, pa.timestamp("s")),
    "micros": (["2024-01-01 10:00:00.123456"], None, pa.timestamp("us")),
    "millis zoned": (["2024-01-01 10:00:00.250Z"], None, pa.timestamp("ms", tz="UTC")),
    "time": (["10:00:00"], None, pa.time32("s")),
}


def _one_column(tmp_path, fields: list[str]) -> str:
    (tmp_path / "a.csv").write_text("v\n" + "".join(f"{f}\n" for f in fields))
    return "a.csv"


@pytest.mark.parametrize("case", TEXT)
def test_a_value_that_would_change_keeps_the_column_text(tmp_path, fs_run, case):
    fields, expected = TEXT[case]
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": _one_column(tmp_path, fields)})
    assert table.schema == pa.schema([("v", pa.string())])
    assert table.column("v").to_pylist() == expected


@pytest.mark.parametrize("case", TYPED)
def test_values_that_print_back_exactly_keep_their_type(tmp_path, fs_run, case):
    fields, expected, type_ = TYPED[case]
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": _one_column(tmp_path, fields)})
    assert table.schema == pa.schema([("v", type_)])
    if expected is not None:
        assert table.column("v").to_pylist() == expected
    assert table.column("v").cast(pa.string()).to_pylist() == fields


def test_the_zip_code_example_copies_exactly(tmp_path, fs_run):
    (tmp_path / "zips.csv").write_text("zip\n01234\n00501\n")
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "zips.csv"})
    fs_run(CsvWriter(), tmp_path, {"path": "out.csv", "quoting": "none"}, table)
    assert (tmp_path / "out.csv").read_text() == "zip\n01234\n00501\n"


def test_a_later_value_that_would_change_is_an_error(tmp_path, fs_run):
    """The first block decides the type; a later '007' must not silently become 7."""
    body = "".join(f"{i}\n" for i in range(300_000))
    (tmp_path / "a.csv").write_text("n\n" + body + "007\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})
    assert str(err.value) == (
        f"Step 'step': {tmp_path / 'a.csv'}: column 'n', row 300001 (line 300002): '007' would"
        " become '7' as int64, the type the column's first values have. Pin the column's type"
        " with schema: {n: string} (types are inferred from the first block of the file)."
    )
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "schema": {"n": "string"}})
    assert table.column("n")[-1].as_py() == "007"


def test_a_later_decimal_with_other_places_is_an_error(tmp_path, fs_run):
    body = "".join(f"{i}.50\n" for i in range(200_000))
    (tmp_path / "a.csv").write_text("price\n" + body + "1.5\n")
    with pytest.raises(StepError, match=r"row 200001 \(line 200002\): '1.5' would become '1.50'"):
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})


def test_a_later_file_of_a_glob_follows_the_first_and_keeps_text(tmp_path, fs_run):
    (tmp_path / "a1.csv").write_text("n,s\n1,x\n")
    (tmp_path / "a2.csv").write_text("n,s\n3,z\n02,y\n")
    with pytest.raises(StepError, match=r"a2.csv: column 'n', row 2 \(line 3\): '02' would"):
        fs_run(CsvExtractor(), tmp_path, {"path": "a*.csv"})


def test_pinned_types_still_read_as_asked(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("n,amount\n007,1.50\n")
    table, _ = fs_run(
        CsvExtractor(),
        tmp_path,
        {"path": "a.csv", "schema": {"n": "int64", "amount": "decimal128(5,2)"}},
    )
    assert table.schema == pa.schema([("n", pa.int64()), ("amount", pa.decimal128(5, 2))])
    assert table.column("n").to_pylist() == [7]
    assert table.column("amount").cast(pa.string()).to_pylist() == ["1.50"]


@pytest.mark.parametrize("value", ["10000-01-01", "-0001-12-31"])
def test_a_date_beyond_a_pinned_type_names_column_and_row(tmp_path, fs_run, value):
    (tmp_path / "a.csv").write_text(f"id,d\n1,2024-01-01\n2,{value}\n")
    with pytest.raises(StepError) as err:
        fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "schema": {"d": "date32"}})
    assert f"column 'd', row 2 (line 3): '{value}' is not a valid date32[day]" in str(err.value)
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})  # unpinned: exact text
    assert table.column("d").to_pylist() == ["2024-01-01", value]


# -- no row is lost ------------------------------------------------------------------------


def test_a_blank_line_in_a_one_column_file_is_a_null_row(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text('v\nx\n\ny\n""\n')
    table, rec = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})
    assert table.column("v").to_pylist() == ["x", None, "y", ""]
    assert rec.metric("rows_read") == 4
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv", "skip_blank_lines": True})
    assert table.column("v").to_pylist() == ["x", "y", ""]


def test_blank_lines_in_files_of_several_columns_are_still_skipped(tmp_path, fs_run):
    (tmp_path / "a.csv").write_text("a,b\n1,x\n\n2,y\n")
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "a.csv"})
    assert table.to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize(
    "columns",
    [
        {"v": pa.array([None, "x", "", None, "y", None], pa.string())},
        {"n": pa.array([None, 1, None], pa.int64())},
        {"a": pa.array([None, "", "z"]), "b": pa.array(["", None, None])},
    ],
    ids=["one text column", "one int column", "two columns"],
)
def test_null_and_empty_string_read_back_distinct_in_any_column_count(
    tmp_path, fs_run, header, columns
):
    table = pa.table(columns)
    fs_run(CsvWriter(), tmp_path, {"path": "o.csv", "header": header}, table)
    config = {"path": "o.csv", "header": header, "columns": table.column_names}
    back, rec = fs_run(CsvExtractor(), tmp_path, config)
    assert back.to_pylist() == table.to_pylist()
    assert rec.metric("rows_read") == table.num_rows


def test_quoting_none_refuses_an_empty_string(tmp_path, fs_run):
    table = pa.table({"n": [1, 2], "s": ["a", ""]})
    with pytest.raises(StepError) as err:
        fs_run(CsvWriter(), tmp_path, {"path": "o.csv", "quoting": "none"}, table)
    assert str(err.value) == (
        "Step 'step': column 's', row 2: an empty string cannot be written with quoting: none"
        ' (it would read back as NULL). Use quoting: minimal, which writes it as "".'
    )
    assert not (tmp_path / "o.csv").exists()


# -- the corpus: every case above in one file, copied CSV -> CSV and CSV -> Parquet -> CSV ------

PINNED = {
    **dict.fromkeys(TEXT, "string"),
    "mixed places": "string",
    "places": "decimal128(5,2)",
    "beyond int64": "decimal128(20,0)",
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "date": "date32",
    "seconds": "timestamp[s]",
    "micros": "timestamp[us]",
    "millis zoned": "timestamp[ms, tz=UTC]",
    "time": "time32[s]",
    "s": "string",
}


def _corpus(tmp_path) -> str:
    """One column per case, each with a NULL (empty field) after its values; a text column
    with an empty string, quotes, a delimiter, a line break and unicode; rows padded with NULL."""
    columns = {name: [*fields, ""] for name, (fields, *_) in {**TEXT, **TYPED}.items()}
    columns["s"] = ['""', '"say ""hi"""', '"a,b"', '"line\nbreak"', "Žluťoučký 🐎", ""]
    height = max(len(fields) for fields in columns.values())
    rows = [
        ",".join(fields[i] if i < len(fields) else "" for fields in columns.values())
        for i in range(height)
    ]
    header = ",".join(f'"{name}"' for name in columns)
    (tmp_path / "corpus.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return "corpus.csv"


def _as_text(path) -> list[dict]:
    """A CSV file's fields as strings and NULLs (empty unquoted field), blank lines kept."""
    import pyarrow.csv as pacsv

    names = pacsv.read_csv(path).column_names
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    ).to_pylist()


@pytest.mark.parametrize("pinned", [False, True], ids=["inferred", "schema"])
@pytest.mark.parametrize("via_parquet", [False, True], ids=["csv-csv", "csv-parquet-csv"])
def test_corpus_copies_every_value_exactly(tmp_path, fs_run, pinned, via_parquet):
    from osiris_driver_filesystem.parquet_io import ParquetExtractor, ParquetWriter

    source = _corpus(tmp_path)
    config = {"path": source, **({"schema": PINNED} if pinned else {})}
    table, _ = fs_run(CsvExtractor(), tmp_path, config)
    for name, (_, _, type_) in TYPED.items():  # typed where every value allows it
        if not pinned:
            assert table.schema.field(name).type == type_, name
    if via_parquet:
        fs_run(ParquetWriter(), tmp_path, {"path": "corpus.parquet"}, table)
        table, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "corpus.parquet"})
    fs_run(CsvWriter(), tmp_path, {"path": "copy.csv"}, table)
    original = _as_text(tmp_path / source)
    assert _as_text(tmp_path / "copy.csv") == original
    assert len(original) == table.num_rows == 6


@pytest.mark.parametrize("via_parquet", [False, True], ids=["csv-csv", "csv-parquet-csv"])
def test_one_column_corpus_keeps_every_row(tmp_path, fs_run, via_parquet):
    from osiris_driver_filesystem.parquet_io import ParquetExtractor, ParquetWriter

    (tmp_path / "v.csv").write_text('v\nx\n\n""\n007\n\n')
    table, _ = fs_run(CsvExtractor(), tmp_path, {"path": "v.csv"})
    if via_parquet:
        fs_run(ParquetWriter(), tmp_path, {"path": "v.parquet"}, table)
        table, _ = fs_run(ParquetExtractor(), tmp_path, {"path": "v.parquet"})
    fs_run(CsvWriter(), tmp_path, {"path": "copy.csv"}, table)
    assert _as_text(tmp_path / "copy.csv") == _as_text(tmp_path / "v.csv")
    back, rec = fs_run(CsvExtractor(), tmp_path, {"path": "copy.csv"})
    assert back.column("v").to_pylist() == ["x", None, "", "007", None]
    assert rec.metric("rows_read") == 5


# -- values at the edges --------------------------------------------------------------------

FAR = pa.table(
    {
        "d": pa.array([0, -719_528, -800_000, 2_932_897], pa.date32()),  # 0000-01-01, BC, 10000+
        "ts": pa.array(
            [0, -719_528 * 86_400_000_000, None, 2_932_897 * 86_400_000_000], pa.timestamp("us")
        ),
    }
)


def test_far_out_dates_keep_their_text_and_read_back_exactly(tmp_path, fs_run):
    """Year 0, BC and 10000+ are written as their (astronomical) year; read back unpinned they
    are text, exact; pinned, what pyarrow cannot parse back names column and row."""
    fs_run(CsvWriter(), tmp_path, {"path": "far.csv"}, FAR)
    assert (tmp_path / "far.csv").read_text() == (
        '"d","ts"\n1970-01-01,1970-01-01 00:00:00.000000\n0000-01-01,0000-01-01 00:00:00.000000\n'
        "-0221-09-04,\n10000-01-01,10000-01-01 00:00:00.000000\n"
    )
    back, _ = fs_run(CsvExtractor(), tmp_path, {"path": "far.csv"})
    assert back.column("d").to_pylist() == [
        "1970-01-01",
        "0000-01-01",
        "-0221-09-04",
        "10000-01-01",
    ]
    with pytest.raises(StepError, match=r"column 'd', row 3 \(line 4\): '-0221-09-04' is not a"):
        fs_run(CsvExtractor(), tmp_path, {"path": "far.csv", "schema": {"d": "date32"}})


@pytest.mark.parametrize("writer", ["csv", "json"])
@pytest.mark.parametrize(
    "column",
    [
        pa.array([0, 11_248_738], pa.date32()),  # 32768-01-01
        pa.array([0, -12_687_429 * 86_400], pa.timestamp("s")),  # -32768-12-31
        pa.array([0, 13_890_172 * 86_400_000_000], pa.timestamp("us", tz="UTC")),  # year 40000
    ],
    ids=["date", "timestamp", "zoned"],
)
def test_dates_text_cannot_hold_name_column_and_row(tmp_path, fs_run, writer, column):
    """pyarrow would write '<value out of range: 11248738>', or wrap a zoned year 40000 to -25536."""
    from osiris_driver_filesystem.json_io import JsonWriter

    driver = CsvWriter() if writer == "csv" else JsonWriter()
    with pytest.raises(StepError) as err:
        fs_run(driver, tmp_path, {"path": f"o.{writer}"}, pa.table({"v": column}))
    assert str(err.value).startswith(
        "Step 'step': column 'v', row 2: the value is beyond the years -32767 to 32767"
    )
    assert not (tmp_path / f"o.{writer}").exists()
