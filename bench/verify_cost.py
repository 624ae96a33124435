"""What verified loads cost: the same 1M-row load without verification (an Osiris checkout
before it, `--baseline`), with the default count check, and with `--verify checksum`.

Loads the `events` table of issue 5 (`events_table.py`, database `osiris_bench_verify`) from
MariaDB through `osiris run` in a child process:

- MySQL → Supabase, postgres transport: `replace` into the existing table and `append` into a
  fresh one (`create_if_missing`), PostgreSQL 127.0.0.1:5432, schema `osiris_bench_verify`;
- MySQL → Parquet.

Variants run interleaved (baseline, count, checksum, baseline, ...) so the machine's noise hits
them alike. Prints wall time, client CPU and the overhead against the count run and the baseline.

    python bench/verify_cost.py [--rows 1000000] [--runs 3] [--baseline OTHER_CHECKOUT/.venv/bin/osiris]
                                [--only Parquet]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from events_table import ensure_events

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "verify"
MYSQL_DB = "osiris_bench_verify"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_SCHEMA = "osiris_bench_verify"

READ = """\
oml_version: "0.1.0"
name: bench-verify-{name}
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config: {{connection: "@mysql.default", table: {source}}}
"""
TO_SUPABASE = """\
  - id: write
    component: supabase.writer
    mode: write
    needs: [read]
    config:
      connection: "@supabase.default"
      table: {target}
      write_mode: {mode}
      primary_key: id
      create_if_missing: true
"""
TO_PARQUET = """\
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config: {{path: out.parquet}}
"""


def pg(sql: str):
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else None


def run_once(osiris: str, pipeline: Path, verify: str | None) -> tuple[float, float]:
    """Wall seconds and client CPU seconds of one `osiris run` child."""
    args = [osiris, "run", str(pipeline)] + (["--verify", verify] if verify else [])
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=OUT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    if verify and "verified" not in output:
        raise SystemExit(f"no 'verified' in the summary:\n{output}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="the osiris executable of a checkout without verify")
    parser.add_argument("--only", default="", help="run only the loads whose label has this text")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    source = ensure_events(MYSQL_DB, args.rows)
    pg(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
    (OUT / "osiris_connections.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        connections:
          mysql:
            default: {{host: 127.0.0.1, port: 3306, user: root, password: "", database: {MYSQL_DB}}}
          supabase:
            default: {{db_url: "postgresql://postgres@127.0.0.1:5432/test", schema: {PG_SCHEMA}}}
        """), encoding="utf-8")  # fmt: skip
    loads = {
        "MySQL → Supabase (COPY), replace": ("replace", TO_SUPABASE),
        "MySQL → Supabase (COPY), append into a new table": ("append", TO_SUPABASE),
        "MySQL → Parquet": ("parquet", TO_PARQUET),
    }
    osiris = str(Path(sys.executable).with_name("osiris"))
    variants = {"no verification (baseline)": (args.baseline, None)} if args.baseline else {}
    variants |= {"count (default)": (osiris, None), "checksum": (osiris, "checksum")}
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" {args.rows:,} rows, {args.runs} runs each (median)\n")  # fmt: skip
    print("| load | verification | wall time | client CPU | vs count | vs baseline |")
    print("|---|---|---:|---:|---:|---:|")
    for label, (mode, writer) in loads.items():
        if args.only not in label:
            continue
        target = f"events_{mode}"
        pipeline = OUT / f"{mode}.yaml"
        pipeline.write_text(READ.format(name=mode, source=source) + writer.format(
            target=target, mode=mode), encoding="utf-8")  # fmt: skip
        if mode == "replace":
            pg(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{target}")
            run_once(osiris, pipeline, None)  # creates the table the replace runs go into
        times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
        for _ in range(args.runs):
            for variant, (exe, verify) in variants.items():
                if mode == "append":
                    pg(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{target}")
                times[variant].append(run_once(exe, pipeline, verify))
        median = {v: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
                  for v, t in times.items()}  # fmt: skip
        for variant, (wall, cpu) in median.items():
            vs_count = wall / median["count (default)"][0] - 1
            base = median.get("no verification (baseline)")
            vs_base = f"{wall / base[0] - 1:+.0%}" if base else "-"
            print(f"| {label} | {variant} | {wall:.2f} s | {cpu:.1f} s | {vs_count:+.0%} |"
                  f" {vs_base} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
