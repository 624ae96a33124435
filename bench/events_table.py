"""The `events` table of issue 5, generated in MariaDB once per size and shared by the benchmarks.

id BIGINT PK, user_id INT, event_type VARCHAR(64), name VARCHAR(64) NULL with unicode,
description TEXT NULL ~100 chars with tabs/newlines/quotes, amount DECIMAL(12,2) NULL, score
DOUBLE, quantity INT NULL, created_at DATETIME(6), event_date DATE NULL, is_active TINYINT(1),
payload JSON NULL; ~10% NULLs. Built with MariaDB's SEQUENCE engine (`INSERT … SELECT … FROM
seq_1_to_N`, a few seconds per million rows).
"""

from __future__ import annotations

import time

EVENTS_DDL = """
CREATE TABLE {table} (
  id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, event_type VARCHAR(64) NOT NULL,
  name VARCHAR(64) NULL, description TEXT NULL, amount DECIMAL(12,2) NULL, score DOUBLE NOT NULL,
  quantity INT NULL, created_at DATETIME(6) NOT NULL, event_date DATE NULL,
  is_active TINYINT(1) NOT NULL, payload JSON NULL
) DEFAULT CHARSET=utf8mb4
"""
# ~10% NULLs per nullable column; description ~100 chars with a tab, a newline and both quotes.
EVENTS_FILL = """
INSERT INTO {table}
SELECT seq, (seq * 7919) % 100000,
  ELT(1 + seq % 6, 'page_view', 'click', 'purchase', 'signup', 'logout', 'search'),
  IF(seq % 10 = 1, NULL, CONCAT(ELT(1 + seq % 5, 'Zoë', 'Jürgen', '東京', 'Åsa 🎬', 'Łukasz'), '-', seq)),
  IF(seq % 10 = 2, NULL, CONCAT('Event ', seq, ':\\tuser said "hi" and it''s fine\\nsecond line ',
     REPEAT('lorem ', 8), seq % 977)),
  IF(seq % 10 = 3, NULL, (seq % 2000000) / 100 - 10000),
  seq / 3e0,
  IF(seq % 10 = 4, NULL, seq % 1000),
  TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq * 37 SECOND + INTERVAL seq % 1000000 MICROSECOND,
  IF(seq % 10 = 5, NULL, DATE('2020-01-01') + INTERVAL seq % 2000 DAY),
  seq % 2,
  IF(seq % 10 = 6, NULL, JSON_OBJECT('k', seq, 'tags', JSON_ARRAY('a', 'b'), 'ok', seq % 3 = 0))
FROM seq_1_to_{rows}
"""


def _connect(database: str | None = None):
    import pymysql

    return pymysql.connect(host="127.0.0.1", user="root", password="", database=database,
                           autocommit=True, charset="utf8mb4")  # fmt: skip


def ensure_events(database: str, rows: int) -> str:
    """`database.events_<rows>`, created and filled unless it already holds `rows` rows."""
    table = f"events_{rows}"
    conn = _connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4")
            cur.execute(f"USE {database}")
            cur.execute("SELECT COUNT(*) FROM information_schema.tables"
                        " WHERE table_schema = DATABASE() AND table_name = %s", (table,))  # fmt: skip
            if cur.fetchone()[0] == 1:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                if cur.fetchone()[0] == rows:
                    return table
            started = time.perf_counter()
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(EVENTS_DDL.format(table=table))
            cur.execute(EVENTS_FILL.format(table=table, rows=rows))
            print(f"generated {database}.{table} in {time.perf_counter() - started:.1f} s",
                  flush=True)  # fmt: skip
    finally:
        conn.close()
    return table
