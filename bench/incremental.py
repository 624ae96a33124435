"""Incremental loads: what a run costs when 1%, or nothing, is new, against a full read.

Copies a 1M-row `events` table (issue 5, `events_table.py`) into a work table, then runs
`mysql.extractor (incremental) → filesystem.parquet_writer` through `osiris run` three times:
the first run reads everything, then 1% new rows are inserted and the second run reads only
them, then a third run finds nothing new. The cursor is `id` (the primary key) or `created_at`
(not indexed: the filter scans the table).

    python bench/incremental.py [--rows 1000000] [--cursor id created_at]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from events_table import _connect, ensure_events

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "incremental"
DATABASE = "osiris_bench_mysql"

PIPELINE = """\
oml_version: "0.1.0"
name: bench-incremental-{cursor}
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      table: inc_events
      incremental: {{cursor: {cursor}}}
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config: {{path: {path}}}
"""
CONNECTIONS = """\
version: 1
connections:
  mysql:
    default: {{host: 127.0.0.1, port: 3306, user: root, password: "", database: {database}}}
"""


def sql(*statements: str) -> None:
    conn = _connect(DATABASE)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def run(work: Path, pipeline: Path) -> tuple[float, int]:
    """Wall seconds of one `osiris run` and the rows its extractor read."""
    osiris = Path(sys.executable).parent / "osiris"
    started = time.perf_counter()
    done = subprocess.run(
        [str(osiris), "run", str(pipeline), "--json"], cwd=work, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    session = work / json.loads(done.stdout)["session_dir"]
    events = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    rows = next(e["rows"] for e in events if e["event"] == "incremental_mark")
    return seconds, rows


def measure(rows: int, cursor: str) -> list[tuple[str, float, int]]:
    source = ensure_events(DATABASE, rows)
    sql("DROP TABLE IF EXISTS inc_events", f"CREATE TABLE inc_events LIKE {source}",
        f"INSERT INTO inc_events SELECT * FROM {source}")  # fmt: skip
    work = OUT / cursor
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "osiris_connections.yaml").write_text(CONNECTIONS.format(database=DATABASE))
    pipeline = work / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(cursor=cursor, path=work / "events.parquet"))
    results = [("full (first run)", *run(work, pipeline))]
    new = rows // 100
    sql(
        f"INSERT INTO inc_events SELECT id + {rows}, user_id, event_type, name, description,"
        f" amount, score, quantity, created_at + INTERVAL 1000 DAY, event_date, is_active,"
        f" payload FROM {source} WHERE id <= {new}"
    )
    results.append(("1% new rows", *run(work, pipeline)))
    results.append(("nothing new", *run(work, pipeline)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cursor", nargs="+", default=["id", "created_at"])
    args = parser.parse_args()
    print(f"machine: {platform.node()} · Python {platform.python_version()} · rows {args.rows:,}")
    for cursor in args.cursor:
        for label, seconds, read in measure(args.rows, cursor):
            print(f"cursor {cursor:<10} {label:<17} {read:>9,} rows read  {seconds:6.2f} s",
                  flush=True)  # fmt: skip
    sql("DROP TABLE IF EXISTS inc_events")


if __name__ == "__main__":
    main()
