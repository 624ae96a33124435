"""duckdb.processor edge cases: results dropped unread, field marks of pass-through columns."""

from __future__ import annotations

import gc
import tempfile
from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.builtin.duckdb_processor import DuckDBProcessor
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context

JSON = {b"osiris.type": b"json"}


def _run(tmp_path, query: str, **tables: pa.Table):
    ctx, _ = make_context(tmp_path, step_id="transform")
    inputs = {k: StepData.from_table(v) for k, v in tables.items()}
    return DuckDBProcessor().run(
        step_id="transform", config={"query": query}, inputs=inputs, ctx=ctx
    )["df"]


def test_a_result_dropped_unread_removes_its_temp_directory(tmp_path, monkeypatch):
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    reader = _run(tmp_path, "SELECT 1 AS one")
    assert len(list(temp_root.iterdir())) == 1  # DuckDB's private spill directory
    reader.close()
    del reader
    gc.collect()
    assert list(temp_root.iterdir()) == []


def test_a_json_mark_survives_a_pass_through_column(tmp_path):
    """MySQL/Supabase mark JSON text in field metadata; DuckDB would drop it (JSON → TEXT)."""
    schema = pa.schema(
        [
            ("id", pa.int64()),
            pa.field("details", pa.large_string(), metadata=JSON),
        ]
    )
    table = pa.table({"id": [1, 2], "details": ['{"a": 1}', None]}, schema=schema)
    reader = _run(
        tmp_path,
        "SELECT id, details, length(details) AS n, details || '' AS copy FROM input_df",
        df_src=table,
    )
    assert reader.schema.field("details").metadata == JSON
    assert reader.schema.field("n").metadata is None
    assert reader.schema.field("copy").metadata is None
    batch = reader.read_next_batch()  # each batch carries the mark, not only the reader
    assert batch.schema.field("details").metadata == JSON
    assert batch.column("details").to_pylist() == ['{"a": 1}', None]


def test_a_mark_is_not_guessed_when_inputs_disagree(tmp_path):
    left = pa.table({"v": pa.array(["{}"])}, schema=pa.schema([pa.field("v", pa.string(), JSON)]))
    right = pa.table({"v": pa.array(["x"])})
    reader = _run(tmp_path, "SELECT l.v FROM df_l l JOIN df_r r ON true", df_l=left, df_r=right)
    assert reader.schema.field("v").metadata is None


def test_a_computed_column_of_another_type_gets_no_mark(tmp_path):
    table = pa.table(
        {"details": pa.array(['{"a": 1}'])},
        schema=pa.schema([pa.field("details", pa.string(), metadata=JSON)]),
    )
    reader = _run(tmp_path, "SELECT length(details) AS details FROM input_df", df_src=table)
    assert reader.schema.field("details").type == pa.int64()
    assert reader.schema.field("details").metadata is None


def test_types_duckdb_cannot_read_are_named(tmp_path):
    import pytest
    from osiris.errors import StepError

    wide = pa.table({"id": [1], "amount": pa.array([Decimal("1.5")], pa.decimal256(50, 1))})
    with pytest.raises(StepError, match=r"column 'amount' of df_src is decimal256\(50, 1\)"):
        _run(tmp_path, "SELECT * FROM input_df", df_src=wide)


def test_nanoseconds_duckdb_would_drop_are_refused_with_column_and_row(tmp_path):
    import pytest
    from osiris.errors import StepError

    mdn = pa.month_day_nano_interval()
    fine = pa.array([pa.scalar((1, 2, 3000), mdn).as_py()] * 2, mdn)
    table = pa.table({"iv": fine, "du": pa.array([1_000, 2_000], pa.duration("ns"))})
    out = _run(tmp_path, "SELECT * FROM input_df", df_src=table).read_all()
    assert out.column("iv").to_pylist()[0].nanoseconds == 3000
    lossy = pa.table({"iv": fine, "du": pa.array([1_000, 2_001], pa.duration("ns"))})
    with pytest.raises(StepError, match=r"column 'du' of df_src row 2: .* has nanoseconds"):
        _run(tmp_path, "SELECT * FROM input_df", df_src=lossy).read_all()
    iv = pa.array([pa.scalar((0, 0, 1500), mdn).as_py()], mdn)
    with pytest.raises(StepError, match=r"column 'iv' of df_src row 1: .* has nanoseconds"):
        _run(tmp_path, "SELECT * FROM input_df", df_src=pa.table({"iv": iv})).read_all()


@pytest.mark.parametrize(
    ("query", "described"),
    [
        (
            "SELECT * FROM df_a JOIN df_b ON df_a.id = df_b.id",
            "'id' (column 1) and 'id' (column 3); 'x' (column 2) and 'X' (column 4)",
        ),
        (
            "SELECT df_a.x, df_b.X FROM df_a JOIN df_b USING (id)",
            "'x' (column 1) and 'X' (column 2)",
        ),
        ("SELECT 1 AS v, 2 AS v, 3 AS V", "'v' (column 1) and 'v' (column 2) and 'V' (column 3)"),
    ],
)
def test_duplicate_or_case_twin_column_names_are_refused(tmp_path, query, described):
    inputs = {
        "df_a": StepData.from_table(pa.table({"id": [1], "x": [2]})),
        "df_b": StepData.from_table(pa.table({"id": [1], "X": [3]})),
    }
    ctx, _ = make_context(tmp_path, step_id="t")
    with pytest.raises(StepError) as err:
        DuckDBProcessor().run(step_id="t", config={"query": query}, inputs=inputs, ctx=ctx)
    assert str(err.value).startswith(
        "Step 't': the query's result has columns whose names are the same or differ only by"
        f" case: {described}. Targets cannot hold both. Give each its own name with AS, e.g."
    )
