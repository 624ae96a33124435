"""MySQL → Parquet through `osiris run`: rows/s and the peak RSS of the run's process.

Builds the `events` table of issue 5 (`events_table.py`) once per size in the database
`osiris_bench_mysql`. Then copies it with `mysql.extractor → filesystem.parquet_writer`
in a child `osiris run` and reads the child's own peak RSS from wait4. `--via drivers` runs the
extractor and a pyarrow ParquetWriter directly in a child (no runner) to isolate the reader.

    python bench/mysql_to_parquet.py [--rows 1000000 5000000] [--runs 3] [--via run|drivers]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from events_table import ensure_events
from server_cpu import cpu_seconds

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "mysql"
DATABASE = "osiris_bench_mysql"
BYTECODE_CACHE: Path | None = ROOT / ".data" / "pycache"


PIPELINE = """\
oml_version: "0.1.0"
name: bench-mysql-to-parquet
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      table: {table}
      batch_size: {batch_size}
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config:
      path: {path}
      row_group_size: {row_group_size}
"""

CONNECTIONS = """\
version: 1
connections:
  mysql:
    default:
      host: 127.0.0.1
      port: 3306
      database: {database}
      user: root
"""

DRIVERS = """
import sys, time
from pathlib import Path
import pyarrow.parquet as pq
from osiris.testing import make_context
from osiris_driver_mysql.extractor import MySQLExtractor
ctx, _ = make_context(Path(sys.argv[3]), connection={"host": "127.0.0.1", "user": "root",
                      "database": sys.argv[1]})
config = {"table": sys.argv[2], "batch_size": int(sys.argv[5])}
reader = MySQLExtractor().run(step_id="read", config=config, inputs={}, ctx=ctx)["df"]
with pq.ParquetWriter(sys.argv[4], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""


def run_child(argv: list[str], cwd: Path) -> tuple[float, float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of the child alone, and the
    CPU seconds MariaDB spent meanwhile (it shares the machine's cores with the child)."""
    server_before = cpu_seconds("mariadbd")
    started = time.perf_counter()
    env = dict(os.environ)
    if BYTECODE_CACHE:  # like a normal install, which compiles bytecode; kept out of the venv
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    server = cpu_seconds("mariadbd") - server_before
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed:\n{out}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, server


def step_seconds(cwd: Path) -> float | None:
    """The `read` + `write` streaming time from the newest session's events."""
    sessions = sorted((cwd / "logs").glob("run_*"))
    if not sessions:
        return None
    for line in (sessions[-1] / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "run_complete" and "duration_ms" in event:
            return event["duration_ms"] / 1000
    return None


def measure(rows: int, via: str, batch_size: int, row_group_size: int) -> dict:
    table = ensure_events(DATABASE, rows)
    work = OUT / f"{via}_{rows}"
    work.mkdir(parents=True, exist_ok=True)
    target = work / "events.parquet"
    target.unlink(missing_ok=True)
    if via == "run":
        (work / "osiris_connections.yaml").write_text(CONNECTIONS.format(database=DATABASE))
        (work / "pipeline.yaml").write_text(
            PIPELINE.format(
                table=table, path=target.name, batch_size=batch_size, row_group_size=row_group_size
            )
        )
        osiris = Path(sys.executable).with_name("osiris")
        wall, rss, cpu, server = run_child([str(osiris), "run", "pipeline.yaml"], work)
    else:
        wall, rss, cpu, server = run_child(
            [sys.executable, "-c", DRIVERS, DATABASE, table, str(work), str(target),
             str(batch_size)], work,
        )  # fmt: skip
    import pyarrow.parquet as pq

    written = pq.ParquetFile(target).metadata.num_rows
    assert written == rows, f"wrote {written} rows, expected {rows}"
    return {"rows": rows, "via": via, "wall_s": wall, "rows_per_s": rows / wall, "peak_rss_mib": rss,
            "cpu_s": cpu, "server_cpu_s": server,
            "run_s": step_seconds(work) if via == "run" else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--via", choices=["run", "drivers"], default="run")
    parser.add_argument("--batch-size", type=int, default=10_000, help="extractor batch_size")
    parser.add_argument("--row-group-size", type=int, default=65_536,
                        help="parquet_writer row_group_size (run only)")  # fmt: skip
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="let the child compile every module from source, as under"
                        " PYTHONDONTWRITEBYTECODE=1 with an uncompiled venv")  # fmt: skip
    args = parser.parse_args()
    global BYTECODE_CACHE
    if args.no_bytecode_cache:
        BYTECODE_CACHE = None
    load = os.getloadavg()[0]
    print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} ·"
          f" load {load:.2f}", flush=True)  # fmt: skip
    for rows in args.rows:
        results = [
            measure(rows, args.via, args.batch_size, args.row_group_size) for _ in range(args.runs)
        ]
        best = max(results, key=lambda r: r["rows_per_s"])
        for r in results:
            run_s = "" if r["run_s"] is None else f"  (run {r['run_s']:.2f} s)"
            print(
                f"{r['via']:7} {r['rows']:>9,} rows  {r['wall_s']:6.2f} s wall"
                f"  {r['rows_per_s']:>9,.0f} rows/s  peak RSS {r['peak_rss_mib']:6.1f} MiB"
                f"  CPU {r['cpu_s']:5.2f} s ({r['rows'] / r['cpu_s']:,.0f} rows per CPU-s)"
                f"  MariaDB CPU {r['server_cpu_s']:5.2f} s{run_s}",
                flush=True,
            )
        print(
            f"best    {rows:>9,} rows  {best['rows_per_s']:>9,.0f} rows/s  "
            f"max peak RSS {max(r['peak_rss_mib'] for r in results):.1f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
