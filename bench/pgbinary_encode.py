"""CPU cost of the binary COPY encoder (`pgbinary.encode`) on an events-like batch, µs per row.

Builds, in memory and deterministically, a 100,000-row Arrow batch shaped like the `events` table
that `mysql.extractor` reads in bench/mysql_to_supabase.py (id BIGINT, user_id INT, event_type
VARCHAR(64), name VARCHAR(64) NULL with unicode, description TEXT NULL ~100 chars, amount
DECIMAL(12,2) NULL, score DOUBLE, quantity INT NULL, created_at DATETIME(6), event_date DATE
NULL, is_active TINYINT(1), payload JSON NULL; ~10% NULLs), plans it against the PostgreSQL types
the writer creates for it, and prints the best of 5 runs of `encode` (wall and CPU time).
Figures move by ±30% between processes on a shared machine: run it a few times.
To measure another version of the encoder, put its package first on the path, e.g.
`PYTHONPATH=/tmp/before/osiris-driver-supabase/src` after
`git archive <commit> osiris-driver-supabase/src | tar -x -C /tmp/before`.

    .venv/bin/python bench/pgbinary_encode.py [--rows 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from statistics import median

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from osiris_driver_supabase import pgbinary

PG_TYPES = {
    "id": "bigint",
    "user_id": "integer",
    "event_type": "text",
    "name": "text",
    "description": "text",
    "amount": "numeric",
    "score": "double precision",
    "quantity": "integer",
    "created_at": "timestamp without time zone",
    "event_date": "date",
    "is_active": "smallint",
    "payload": "jsonb",
}


def events_batch(rows: int) -> pa.RecordBatch:
    """The batch `mysql.extractor` would read from bench/mysql_to_supabase.py's events table."""
    seq = np.arange(1, rows + 1, dtype=np.int64)
    digits = pa.array(seq).cast(pa.string())

    def nulls(k: int, array: pa.Array) -> pa.Array:
        """NULL where seq % 10 == k, as the table's IF(seq % 10 = k, NULL, ...)."""
        return pc.if_else(seq % 10 == k, pa.scalar(None, array.type), array)

    def text(*parts) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    def pick(words: list[str], k: int) -> pa.Array:
        return pa.array(words).take(pa.array(seq % len(words)))

    name = text(pick(["Zoë", "東京 🎬", "José", "Åsa"], 4), " ", digits)
    description = text(
        "Line one\twith a tab, \"double\" and 'single' quotes\nline two; ", "x" * 30, " #", digits
    )
    ok = pick(["true", "false", "false"], 3)
    payload = text('{"k": ', digits, ', "tags": ["a", "b"], "ok": ', ok, "}")
    cents = (seq % 1_000_000) - 500_000  # (seq % 1000000) / 100 - 5000 as DECIMAL(12,2)
    words = np.column_stack([cents, cents >> 63])  # little-endian int128: low word, sign word
    amount = pa.Array.from_buffers(pa.decimal128(12, 2), rows, [None, pa.py_buffer(words)])
    created = (np.datetime64("2024-01-01T00:00:00", "us") + seq * 1001).astype("M8[us]")
    event_date = np.datetime64("2024-01-01", "D") + (seq % 365)
    columns = {
        "id": pa.array(seq, pa.int64()),
        "user_id": pa.array(seq % 100_000, pa.int32()),
        "event_type": pick(["click", "view", "purchase", "signup", "logout"], 5),
        "name": nulls(0, name),
        "description": nulls(1, description),
        "amount": nulls(2, amount),
        "score": pa.array(seq / 7.0, pa.float64()),
        "quantity": nulls(3, pa.array(seq % 50, pa.int32())),
        "created_at": pa.array(created, pa.timestamp("us")),
        "event_date": nulls(4, pa.array(event_date, pa.date32())),
        "is_active": pa.array(seq % 2, pa.int8()),
        "payload": nulls(5, payload),
    }
    return pa.record_batch(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    batch = events_batch(args.rows)
    columns = pgbinary.plan(batch.schema, PG_TYPES)
    assert columns is not None, "every column should take the binary path"
    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = pgbinary.encode(batch, columns)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()},")
    print(f"  numpy {np.__version__}, pyarrow {pa.__version__}, load {os.getloadavg()[0]:.2f}")
    print(f"{args.rows:,} rows, {len(out) / args.rows:.1f} bytes per row encoded")
    print(f"encode, best of {args.runs}: {min(walls) / args.rows * 1e6:.3f} µs/row wall,")
    print(
        f"  {min(cpus) / args.rows * 1e6:.3f} µs/row CPU (median {median(cpus) / args.rows * 1e6:.3f})"
    )


if __name__ == "__main__":
    main()
