"""duckdb.processor: SQL over Arrow inputs, streamed out, with errors that name the step."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from osiris.builtin.duckdb_processor import DuckDBProcessor
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context


def _run(tmp_path, query: str, **tables: pa.Table | StepData):
    ctx, rec = make_context(tmp_path, step_id="transform")
    inputs = {
        k: v if isinstance(v, StepData) else StepData.from_table(v) for k, v in tables.items()
    }
    out = DuckDBProcessor().run(
        step_id="transform", config={"query": query}, inputs=inputs, ctx=ctx
    )
    return out["df"], rec


MOVIES = pa.table(
    {"id": [1, 2, 3], "title": ["Alien", "Amélie", "Heat"], "director_id": [10, 20, 10]}
)
DIRECTORS = pa.table({"id": [10, 20], "name": ["Ridley Scott", "Jean-Pierre Jeunet"]})


def test_join_across_two_inputs(tmp_path):
    reader, rec = _run(
        tmp_path,
        "SELECT d.name, count(*) AS movies FROM df_movies m JOIN df_directors d ON m.director_id = d.id"
        " GROUP BY d.name ORDER BY d.name",
        df_movies=MOVIES,
        df_directors=DIRECTORS,
    )
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().to_pylist() == [
        {"name": "Jean-Pierre Jeunet", "movies": 1},
        {"name": "Ridley Scott", "movies": 2},
    ]
    assert rec.metric("rows_out") == 2


def test_single_input_is_also_input_df(tmp_path):
    reader, _ = _run(tmp_path, "SELECT title FROM input_df WHERE id = 2", df_extract_movies=MOVIES)
    assert reader.read_all().to_pylist() == [{"title": "Amélie"}]


def test_input_df_absent_with_two_inputs(tmp_path):
    with pytest.raises(StepError) as err:
        _run(tmp_path, "SELECT * FROM input_df", df_a=MOVIES, df_b=DIRECTORS)
    assert str(err.value) == (
        "Step 'transform': the query uses table input_df, which is not an input of this step;"
        " the inputs are: df_a, df_b. Add the producing step to needs: or fix the table name."
    )


def test_types_are_preserved(tmp_path):
    utc = dt.UTC
    table = pa.table(
        {
            "amount": pa.array([decimal.Decimal("1234567890.12"), None], pa.decimal128(12, 2)),
            "at": pa.array(
                [dt.datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=utc), None],
                pa.timestamp("us", tz="UTC"),
            ),
            "naive": pa.array([dt.datetime(2024, 5, 1, 12, 30), None], pa.timestamp("us")),
            "day": pa.array([dt.date(1999, 12, 31), None], pa.date32()),
            "name": pa.array(['Žluťoučký kůň 🐎\nnew line, "quoted"', None]),
            "flag": pa.array([True, None]),
            "blob": pa.array([b"\x00\xff", None]),
            "n": pa.array([2**62, None], pa.int64()),
            "x": pa.array([0.1, None], pa.float64()),
        }
    )
    reader, _ = _run(tmp_path, "SELECT * FROM df_src", df_src=table)
    out = reader.read_all()
    assert out.schema == table.schema
    assert out.to_pylist() == table.to_pylist()


def test_decimal_arithmetic_stays_exact(tmp_path):
    table = pa.table(
        {"v": pa.array([decimal.Decimal("0.10"), decimal.Decimal("0.20")], pa.decimal128(10, 2))}
    )
    reader, _ = _run(tmp_path, "SELECT sum(v) AS total FROM input_df", df_t=table)
    out = reader.read_all()
    assert pa.types.is_decimal(out.schema.field("total").type)
    assert out.column("total").to_pylist() == [decimal.Decimal("0.30")]


def test_timezone_aware_input_comes_out_in_utc(tmp_path):
    table = pa.table({"t": pa.array([0], pa.timestamp("us", tz="Europe/Prague"))})
    reader, _ = _run(tmp_path, "SELECT t FROM input_df", df_t=table)
    out = reader.read_all()
    assert out.schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert out.column("t").to_pylist() == [dt.datetime(1970, 1, 1, tzinfo=dt.UTC)]


def test_self_join_of_a_streamed_input(tmp_path):
    schema = pa.schema([("n", pa.int64())])
    stream = pa.RecordBatchReader.from_batches(
        schema, iter([pa.record_batch([pa.array([1, 2, 3])], schema=schema)])
    )
    reader, _ = _run(
        tmp_path,
        "SELECT a.n, b.n AS m FROM df_s a JOIN input_df b ON b.n = a.n + 1 ORDER BY a.n",
        df_s=StepData.from_reader(stream),
    )
    assert reader.read_all().to_pylist() == [{"n": 1, "m": 2}, {"n": 2, "m": 3}]


def test_input_is_streamed_not_loaded_up_front(tmp_path):
    """The input is pulled as DuckDB needs it, and the output comes out batch by batch."""
    schema = pa.schema([("n", pa.int64())])
    pulled = []
    batch_rows = 10_000
    total_batches = 200

    def batches():
        for i in range(total_batches):
            pulled.append(i)
            yield pa.record_batch(
                [pa.array(range(i * batch_rows, (i + 1) * batch_rows))], schema=schema
            )

    stream = StepData.from_reader(pa.RecordBatchReader.from_batches(schema, batches()))
    reader, rec = _run(tmp_path, "SELECT n * 2 AS m FROM input_df", df_big=stream)
    assert len(pulled) < total_batches  # nothing was read before the consumer asked
    first = reader.read_next_batch()
    assert first.num_rows > 0
    assert len(pulled) < total_batches  # one output batch did not need the whole input
    rest = sum(b.num_rows for b in reader) + first.num_rows
    assert rest == total_batches * batch_rows
    assert rec.metric("rows_out") == rest


def test_sql_syntax_error_names_the_step(tmp_path):
    with pytest.raises(StepError) as err:
        _run(tmp_path, "SELEC 1", df_a=MOVIES)
    assert str(err.value) == (
        "Step 'transform': DuckDB rejected the query: Parser Error: syntax error at or near \"SELEC\""
    )


def test_unknown_column_error(tmp_path):
    with pytest.raises(
        StepError, match=r"^Step 'transform': DuckDB rejected the query: Binder Error: .*nope"
    ):
        _run(tmp_path, "SELECT nope FROM df_a", df_a=MOVIES)


def test_unknown_table_lists_inputs(tmp_path):
    with pytest.raises(
        StepError,
        match=r"uses table df_movie, which is not an input of this step; the inputs are: df_movies, input_df\.",
    ):
        _run(tmp_path, "SELECT * FROM df_movie", df_movies=MOVIES)


def test_runtime_error_while_streaming_names_the_step(tmp_path):
    table = pa.table({"s": ["1", "2", "x"]})
    with pytest.raises(StepError, match=r"^Step 'transform': .*Could not convert string 'x'"):
        reader, _ = _run(tmp_path, "SELECT s::INTEGER AS i FROM input_df", df_t=table)
        reader.read_all()


def test_python_variables_are_not_tables(tmp_path):
    MOVIES_LOCAL = MOVIES  # noqa: F841 - DuckDB's replacement scans must not find this
    with pytest.raises(StepError, match="MOVIES_LOCAL, which is not an input"):
        _run(tmp_path, "SELECT * FROM MOVIES_LOCAL", df_a=MOVIES)


def test_no_inputs_is_fine_for_constant_queries(tmp_path):
    reader, _ = _run(tmp_path, "SELECT 42 AS answer")
    assert reader.read_all().to_pylist() == [{"answer": 42}]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT sum(n) AS s FROM input_df",
        "SELECT n FROM input_df",
        "SELECT a.n FROM input_df a JOIN df_read b USING (n)",
    ],
)
def test_upstream_failure_is_reported_as_the_upstream_error(tmp_path, query):
    """DuckDB wraps a failing input stream in its own error; the upstream sentence wins."""
    schema = pa.schema([("n", pa.int64())])

    def batches():
        for i in range(50):
            yield pa.record_batch([pa.array(range(i * 10_000, (i + 1) * 10_000))], schema=schema)
        raise StepError("read", "in.csv: column 'n', row 500001: 'oops' is not a valid int64.")

    stream = StepData.from_reader(pa.RecordBatchReader.from_batches(schema, batches()))
    with pytest.raises(StepError) as err:
        reader, _ = _run(tmp_path, query, df_read=stream)
        reader.read_all()
    assert str(err.value) == (
        "Step 'read': in.csv: column 'n', row 500001: 'oops' is not a valid int64."
    )


def test_spills_go_to_a_private_directory_removed_afterwards(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    reader, _ = _run(tmp_path, "SELECT current_setting('temp_directory') AS d", df_a=MOVIES)
    spill = reader.read_all().column("d")[0].as_py()
    assert spill.startswith(str(tmp_path / "tmp" / "osiris-duckdb-"))
    assert not (tmp_path / ".tmp").exists()
    assert list((tmp_path / "tmp").iterdir()) == []  # removed once the result was read
