"""Writers go through a temporary file renamed on success: a failed or killed run never leaves a
partial target file, and an existing target stays as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_filesystem.csv_io import CsvWriter
from osiris_driver_filesystem.json_io import JsonWriter
from osiris_driver_filesystem.parquet_io import ParquetWriter

WRITERS = {"csv": CsvWriter, "jsonl": JsonWriter, "parquet": ParquetWriter}


def _failing_stream(batches_before_failure: int) -> StepData:
    schema = pa.schema([("n", pa.int64())])

    def batches():
        for i in range(batches_before_failure):
            yield pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000))], schema=schema)
        raise StepError("upstream", "the source went away.")

    return StepData.from_reader(pa.RecordBatchReader.from_batches(schema, batches()))


@pytest.mark.parametrize("ext", WRITERS)
def test_failure_midway_leaves_no_target_and_no_temp(tmp_path, ext):
    ctx, rec = make_context(tmp_path)
    with pytest.raises(StepError, match="the source went away"):
        WRITERS[ext]().run(
            step_id="w", config={"path": f"out.{ext}"}, inputs={"df_u": _failing_stream(5)}, ctx=ctx
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts"]
    assert rec.metric("rows_written") == 0


@pytest.mark.parametrize("ext", WRITERS)
def test_failure_keeps_the_previous_file(tmp_path, fs_run, ext):
    fs_run(WRITERS[ext](), tmp_path, {"path": f"out.{ext}"}, pa.table({"n": [1, 2]}))
    before = (tmp_path / f"out.{ext}").read_bytes()
    ctx, _ = make_context(tmp_path)
    with pytest.raises(StepError):
        WRITERS[ext]().run(
            step_id="w", config={"path": f"out.{ext}"}, inputs={"df_u": _failing_stream(3)}, ctx=ctx
        )
    assert (tmp_path / f"out.{ext}").read_bytes() == before


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pyarrow as pa
    from osiris.stepdata import StepData
    from osiris.testing import make_context
    from osiris_driver_filesystem import csv_io, json_io, parquet_io

    drivers = {"csv": csv_io.CsvWriter, "jsonl": json_io.JsonWriter, "parquet": parquet_io.ParquetWriter}
    ext, workdir = sys.argv[1], Path(sys.argv[2])
    schema = pa.schema([("n", pa.int64()), ("s", pa.string())])

    def endless():
        i = 0
        while True:
            yield pa.record_batch([pa.array(range(i, i + 5000)), pa.array(["x" * 20] * 5000)], schema=schema)
            i += 5000
            if i == 400_000:  # several row groups / many KB are on disk by now
                print("written", flush=True)

    ctx, _ = make_context(workdir)
    data = StepData.from_reader(pa.RecordBatchReader.from_batches(schema, endless()))
    drivers[ext]().run(step_id="w", config={"path": f"out/target.{ext}"}, inputs={"df_u": data}, ctx=ctx)
    """
)


@pytest.mark.parametrize("ext", WRITERS)
def test_killed_writer_leaves_no_target(tmp_path, ext):
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, ext, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "written"  # waits for the writer's signal
        temps = list((tmp_path / "out").iterdir())
        assert len(temps) == 1 and temps[0].name.startswith(".target.")
        assert temps[0].stat().st_size > 0
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / f"target.{ext}").exists()
