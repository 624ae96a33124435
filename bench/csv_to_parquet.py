"""10M-row CSV -> Parquet through `osiris run`: rows/s and the peak RSS of the run's process.

Generates a mixed-type CSV (int, string with unicode and quotes, decimal, date, timestamp with
zone, bool, float, NULLs) under bench/.data/ once, then runs a two-step pipeline
(filesystem.csv_extractor with pinned types -> filesystem.parquet_writer) in a child process and
reads its peak RSS from wait4's rusage (ru_maxrss of that child alone).

    python bench/csv_to_parquet.py [--rows 10000000] [--runs 1] [--back]

With --back it also converts the Parquet file back to CSV (filesystem.parquet_extractor ->
filesystem.csv_writer), the writer-side figure.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
OUT = ROOT / "out"

PIPELINE = """\
oml_version: "0.1.0"
name: bench-csv-to-parquet
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: {csv}
      schema:
        id: int64
        amount: decimal128(12,2)
        day: date32
        at: "timestamp[us, tz=UTC]"
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config:
      path: {parquet}
"""


BACK = """\
oml_version: "0.1.0"
name: bench-parquet-to-csv
steps:
  - {{id: read, component: filesystem.parquet_extractor, mode: read, config: {{path: {parquet}}}}}
  - {{id: write, component: filesystem.csv_writer, mode: write, needs: [read], config: {{path: {csv}}}}}
"""


def generate(path: Path, rows: int) -> None:
    """Write the CSV batch by batch (pyarrow, numpy) so generation itself stays small."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(42)
    names = pa.array(["Åsa", "José", 'Say "hi"', "Zoë, Jr.", "北京", "plain", None, "Žluťoučký"])
    batch_rows = 500_000
    tmp = path.with_suffix(".tmp")
    with pacsv.CSVWriter(str(tmp), pa.schema([
        ("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(12, 2)),
        ("day", pa.date32()), ("at", pa.timestamp("us", tz="UTC")), ("flag", pa.bool_()),
        ("score", pa.float64()),
    ])) as writer:  # fmt: skip
        for start in range(0, rows, batch_rows):
            n = min(batch_rows, rows - start)
            cents = rng.integers(-(10**9), 10**9, n)
            words = np.zeros((n, 2), dtype=np.int64)  # decimal128: 16-byte two's complement
            words[:, 0], words[:, 1] = cents, np.where(cents < 0, -1, 0)
            amount = pa.Array.from_buffers(
                pa.decimal128(12, 2), n, [None, pa.py_buffer(words.tobytes())]
            )
            batch = pa.record_batch(
                [
                    pa.array(np.arange(start, start + n, dtype=np.int64)),
                    names.take(pa.array(rng.integers(0, len(names), n))),
                    amount,
                    pa.array(rng.integers(0, 20_000, n).astype("int32")).cast(pa.date32()),
                    pa.array(rng.integers(0, 1_700_000_000_000_000, n)).cast(
                        pa.timestamp("us", tz="UTC")
                    ),
                    pa.array(rng.integers(0, 2, n).astype(bool)),
                    pa.array(rng.standard_normal(n)),
                ],
                names=["id", "name", "amount", "day", "at", "flag", "score"],
            )
            writer.write_batch(batch)
    tmp.replace(path)


def run_once(pipeline: Path) -> tuple[float, int, str]:
    """Seconds, peak RSS in bytes, and the output of one `osiris run` child; prints its CPU
    seconds too (user + system), which a busy machine disturbs less than the wall time."""
    osiris = Path(sys.executable).with_name("osiris")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(osiris), "run", str(pipeline), "--logs-dir", str(OUT / "logs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"osiris run failed ({proc.returncode}):\n{output}")
    print(f"  cpu {usage.ru_utime + usage.ru_stime:.1f} s")
    return elapsed, usage.ru_maxrss * 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--back", action="store_true", help="also time Parquet -> CSV")
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)
    OUT.mkdir(exist_ok=True)
    csv = DATA / f"mixed_{args.rows}.csv"
    if not csv.exists():
        started = time.perf_counter()
        generate(csv, args.rows)
        print(f"generated {csv} in {time.perf_counter() - started:.1f} s")
    parquet = OUT / f"mixed_{args.rows}.parquet"
    pipeline = OUT / "csv_to_parquet.yaml"
    pipeline.write_text(PIPELINE.format(csv=csv, parquet=parquet))

    import pyarrow.parquet as pq

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"input: {csv.stat().st_size / 2**20:.0f} MiB CSV, {args.rows:,} rows")
    for run in range(1, args.runs + 1):
        seconds, rss, _ = run_once(pipeline)
        rows = pq.ParquetFile(parquet).metadata.num_rows
        assert rows == args.rows, f"parquet holds {rows} rows, expected {args.rows}"
        print(
            f"run {run}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s,"
            f" peak RSS {rss / 2**20:.0f} MiB, output {parquet.stat().st_size / 2**20:.0f} MiB"
        )
    if args.back:
        back_csv = OUT / f"back_{args.rows}.csv"
        back = OUT / "parquet_to_csv.yaml"
        back.write_text(BACK.format(parquet=parquet, csv=back_csv))
        seconds, rss, _ = run_once(back)
        print(
            f"parquet -> csv: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s,"
            f" peak RSS {rss / 2**20:.0f} MiB, output {back_csv.stat().st_size / 2**20:.0f} MiB"
        )
        same = filecmp.cmp(csv, back_csv, shallow=False)
        print(f"CSV -> Parquet -> CSV gives {'the same bytes' if same else 'DIFFERENT bytes'}")


if __name__ == "__main__":
    main()
