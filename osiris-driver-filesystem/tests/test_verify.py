"""Verified writes: the temporary file is counted (and with ``verify: checksum`` read back and
checksummed) before the rename; a mismatch fails the step and leaves the old target."""

from __future__ import annotations

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_filesystem import csv_io, json_io, parquet_io
from osiris_driver_filesystem.csv_io import CsvWriter
from osiris_driver_filesystem.json_io import JsonWriter
from osiris_driver_filesystem.parquet_io import ParquetWriter

WRITERS = {"csv": CsvWriter, "jsonl": JsonWriter, "parquet": ParquetWriter}


def _write(tmp_path, ext, table, config=None, verify=None):
    ctx, rec = make_context(tmp_path, step_id="w", verify=verify)
    config = {"path": f"out.{ext}", **(config or {})}
    WRITERS[ext]().run(
        step_id="w", config=config, inputs={"df_u": StepData.from_table(table)}, ctx=ctx
    )
    return rec


@pytest.mark.parametrize("ext", WRITERS)
@pytest.mark.parametrize("how", ["config", "run"])
def test_checksum_verifies_every_type(tmp_path, fs_typed_table, ext, how):
    table = fs_typed_table
    if ext == "jsonl":  # JSON has no NaN; the rest of the edges stay
        table = table.set_column(1, "f", pa.array([0.1, None, -2.5e-300, 1e300]))
    config, verify = ({"verify": "checksum"}, None) if how == "config" else ({}, "checksum")
    rec = _write(tmp_path, ext, table, config, verify)
    assert rec.metric("rows_verified") == rec.metric("rows_written") == 4
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event["method"] == "checksum" and event["rows"] == 4
    assert sorted(event["columns"]) == sorted(table.column_names) and event["unchecked"] == {}


@pytest.mark.parametrize("ext", WRITERS)
def test_count_is_the_default(tmp_path, ext):
    rec = _write(tmp_path, ext, pa.table({"n": list(range(1000)), "s": ["x\ny"] * 1000}))
    [(_, event)] = [e for e in rec.events if e[0] == "load_verified"]
    assert event == {"step_id": "w", "target": str(tmp_path / f"out.{ext}"), "rows": 1000,
                     "method": "count"}  # fmt: skip
    assert rec.metric("rows_verified") == 1000


@pytest.mark.parametrize(
    ("ext", "module", "function"),
    [
        ("parquet", parquet_io, "_write_parquet"),
        ("jsonl", json_io, "_write_json"),
        ("csv", csv_io, "_write_csv"),
    ],
)
def test_a_writer_that_loses_or_changes_rows_fails(tmp_path, monkeypatch, ext, module, function):
    """Nothing real makes these formats lose a row (pyarrow refuses unquotable CSV values), so
    the broken write is simulated: a writer bug that drops a row, then one that changes a value."""
    real = getattr(module, function)
    table = pa.table({"n": list(range(10)), "s": list("abcdefghij")})
    (tmp_path / f"out.{ext}").write_bytes(b"old")

    def drops_last(step_id, config, tmp, reader):
        batches = list(reader)
        rows = sum(b.num_rows for b in batches)
        real(
            step_id,
            config,
            tmp,
            pa.RecordBatchReader.from_batches(reader.schema, [batches[0].slice(0, 9)]),
        )
        return rows

    monkeypatch.setattr(module, function, drops_last)
    with pytest.raises(StepError, match=r"received 10 row\(s\) but the written file holds 9"):
        _write(tmp_path, ext, table)

    def changes_one(step_id, config, tmp, reader):
        changed = pa.table(reader).set_column(1, "s", pa.array(list("abcdefghiX")))
        return real(
            step_id,
            config,
            tmp,
            pa.RecordBatchReader.from_batches(changed.schema, changed.to_batches()),
        )

    monkeypatch.setattr(module, function, changes_one)
    _write(tmp_path, ext, table)  # the count is right
    (tmp_path / f"out.{ext}").write_bytes(b"old")
    with pytest.raises(StepError, match="checksum of column 's' differs"):
        _write(tmp_path, ext, table, {"verify": "checksum"})
    assert (tmp_path / f"out.{ext}").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts", f"out.{ext}"]


def test_unknown_verify_value_is_an_error(tmp_path):
    with pytest.raises(StepError, match="verify 'sha' is not one of count, checksum"):
        _write(tmp_path, "csv", pa.table({"n": [1]}), {"verify": "sha"})


@pytest.mark.parametrize(
    "config",
    [{}, {"header": False}, {"compression": "gzip", "newline": "crlf"}, {"encoding": "utf-16"},
     {"quoting": "all", "delimiter": ";"}],
)  # fmt: skip
def test_csv_count_sees_quoted_newlines_as_one_record(tmp_path, config):
    """Records are counted by parsing the written file, never by its lines."""
    values = ["two\nlines", 'quote " and\r\nnewline', "", None, "plain"] * 40
    table = pa.table({"n": list(range(200)), "s": values})
    ext = "csv.gz" if config.get("compression") else "csv"
    ctx, rec = make_context(tmp_path, step_id="w")
    CsvWriter().run(step_id="w", config={"path": f"out.{ext}", **config, "verify": "checksum"},
                    inputs={"df_u": StepData.from_table(table)}, ctx=ctx)  # fmt: skip
    assert rec.metric("rows_verified") == 200
    if not config:
        assert (tmp_path / "out.csv").read_bytes().count(b"\n") == 1 + 200 + 40 * 2
