"""MySQL → Supabase through `osiris run`: rows/s and the peak RSS of the run's process.

Builds the `events` table of issue 5 (`events_table.py`) once per size in MariaDB, in the
database `osiris_bench_sb`. Then runs `mysql.extractor → supabase.writer` in
a child `osiris run` and reads its peak RSS from wait4 (ru_maxrss of that child alone):

- postgres transport: COPY into PostgreSQL 127.0.0.1:5432 (db `test`, schema `osiris_bench`),
  `append` into a fresh table (`create_if_missing`) and `replace` into the existing table;
- rest transport: the real `supabase` client against the PostgREST-compatible test server
  (osiris-driver-supabase/tests/postgrest_server.py, run in this process) over the same database.

    python bench/mysql_to_supabase.py [--rows 1000000 5000000] [--rest-rows 100000] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from events_table import ensure_events
from server_cpu import cpu_seconds

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "supabase"
MYSQL_DB = "osiris_bench_sb"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_SCHEMA = "osiris_bench"
JWT_SECRET = "bench-secret-bench-secret-bench-secret-bench"


PIPELINE = """\
oml_version: "0.1.0"
name: bench-mysql-to-supabase
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      table: {source}
  - id: write
    component: supabase.writer
    mode: write
    needs: [read]
    config:
      connection: "@supabase.{alias}"
      table: {target}
      write_mode: {mode}
      primary_key: id
      create_if_missing: true
      batch_size: 1000
"""


def prepare_pg() -> None:
    import contextlib

    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        for role, extra in (("anon", ""), ("service_role", " BYPASSRLS")):
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(f"CREATE ROLE {role} NOLOGIN{extra}")
        conn.execute(f"GRANT USAGE ON SCHEMA {PG_SCHEMA} TO service_role")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA {PG_SCHEMA} TO service_role")


def pg(sql: str):
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else None


def write_connections(rest_url: str, key: str) -> None:
    (OUT / "osiris_connections.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        connections:
          mysql:
            default: {{host: 127.0.0.1, port: 3306, user: root, password: "", database: {MYSQL_DB}}}
          supabase:
            postgres:
              db_url: postgresql://postgres@127.0.0.1:5432/test
              schema: {PG_SCHEMA}
            rest:
              url: {rest_url}
              key: ${{BENCH_SB_KEY}}
              schema: {PG_SCHEMA}
        """), encoding="utf-8")  # fmt: skip
    os.environ["BENCH_SB_KEY"] = key


def run_once(pipeline: Path) -> tuple[float, int, float, float, float]:
    """Seconds, peak RSS in bytes and CPU seconds of one `osiris run` child, and the CPU seconds
    MariaDB and PostgreSQL spent meanwhile (the three share the machine's cores)."""
    osiris = Path(sys.executable).with_name("osiris")
    mysqld_before, postgres_before = cpu_seconds("mariadbd"), cpu_seconds("postgres")
    started = time.perf_counter()
    proc = subprocess.Popen([str(osiris), "run", str(pipeline)], cwd=OUT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    mysqld = cpu_seconds("mariadbd") - mysqld_before
    postgres = cpu_seconds("postgres") - postgres_before
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"osiris run failed:\n{output}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, mysqld, postgres


def measure(label: str, rows: int, alias: str, mode: str, runs: int) -> None:
    source = ensure_events(MYSQL_DB, rows)
    target = f"events_{alias}_{rows}"
    pipeline = OUT / f"{alias}_{mode}_{rows}.yaml"
    pipeline.write_text(
        PIPELINE.format(source=source, alias=alias, target=target, mode=mode), encoding="utf-8"
    )
    for run in range(1, runs + 1):
        if mode == "append":
            pg(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{target}")
            if alias == "rest":  # the REST API cannot create tables
                pg(f"CREATE TABLE {PG_SCHEMA}.{target} (id bigint PRIMARY KEY, user_id integer,"
                   " event_type text, name text, description text, amount numeric(12,2), score double precision,"
                   " quantity integer, created_at timestamp, event_date date, is_active smallint, payload jsonb)")  # fmt: skip
                pg(f"GRANT ALL ON {PG_SCHEMA}.{target} TO service_role")
        seconds, rss, cpu, mysqld, postgres = run_once(pipeline)
        count = pg(f"SELECT count(*) FROM {PG_SCHEMA}.{target}")[0][0]
        assert count == rows, f"{target} holds {count} rows, expected {rows}"
        print(f"| {label} | {rows:,} | {mode} | {run} | {seconds:.1f} s | {rows / seconds:,.0f} |"
              f" {rss / 2**20:.0f} MiB | {cpu:.1f} s | {mysqld:.1f} s | {postgres:.1f} s |",
              flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--rest-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-replace", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT.parent / "osiris-driver-supabase" / "tests"))
    from postgrest_server import PostgrestServer, make_jwt

    OUT.mkdir(parents=True, exist_ok=True)
    prepare_pg()
    server = PostgrestServer(dsn=PG_DSN, jwt_secret=JWT_SECRET, schemas=[PG_SCHEMA], record=False)
    write_connections(server.start(), make_jwt(JWT_SECRET, "service_role"))
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        "| transport | rows | mode | run | wall time | rows/s | peak RSS | client CPU | MariaDB CPU"
        " | PostgreSQL CPU |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    try:
        for rows in args.rows:
            measure("postgres (COPY)", rows, "postgres", "append", args.runs)
            if not args.skip_replace:
                measure("postgres (COPY)", rows, "postgres", "replace", args.runs)
        if args.rest_rows:
            measure("rest (supabase client)", args.rest_rows, "rest", "append", args.runs)
            measure("rest (supabase client)", args.rest_rows, "rest", "upsert", args.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
