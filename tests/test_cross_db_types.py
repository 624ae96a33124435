"""The cross-database type matrix: MySQL → Supabase, and Supabase → Parquet → Supabase.

The MySQL driver's type matrix (every MySQL type with its edge values) is loaded into a real
MariaDB, extracted with mysql.extractor, written with supabase.writer (postgres transport,
``create_if_missing``), read back with supabase.extractor and compared value by value. Then the
Postgres table goes through Parquet and back into a new table, compared in SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.mysql, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
MATRIX_SQL = ROOT / "osiris-driver-mysql" / "tests" / "type_matrix.sql"


@pytest.fixture
def matrix_dbs(mysql, postgres) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(mysql connection, supabase connection, autocommit psycopg connection on the schema)."""
    pytest.importorskip(
        "osiris_driver_mysql.extractor", reason="the mysql driver has not landed yet"
    )
    name = mysql.database("osiris_xdb", MATRIX_SQL)
    schema, pg = postgres.schema("sb_xdb")
    return (
        {**mysql.server, "database": name},
        {"db_url": postgres.url, "schema": schema},
        pg,
    )


def _extract_mysql(tmp_path: Path, connection: dict[str, Any]) -> pa.Table:
    from osiris.testing import make_context
    from osiris_driver_mysql.extractor import MySQLExtractor

    ctx, _ = make_context(tmp_path, step_id="mysql", connection=connection)
    out = MySQLExtractor().run(
        step_id="mysql", config={"table": "type_matrix", "batch_size": 2}, inputs={}, ctx=ctx
    )
    return pa.table(out["df"].read_all()) if not isinstance(out["df"], pa.Table) else out["df"]


def _write(
    tmp_path: Path, connection: dict[str, Any], table: str, data: pa.Table, **config: Any
) -> None:
    from osiris.stepdata import StepData
    from osiris.testing import make_context
    from osiris_driver_supabase.writer import SupabaseWriter

    ctx, rec = make_context(tmp_path, step_id="sb", connection=connection)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=2))
    SupabaseWriter().run(
        step_id="sb",
        config={"table": table, **config},
        inputs={"df_up": StepData.from_reader(reader)},
        ctx=ctx,
    )
    assert rec.metric("rows_written") == data.num_rows


def _read(tmp_path: Path, connection: dict[str, Any], **config: Any) -> pa.Table:
    from osiris.testing import make_context
    from osiris_driver_supabase.extractor import SupabaseExtractor

    ctx, _ = make_context(tmp_path, step_id="sbr", connection=connection)
    return (
        SupabaseExtractor().run(step_id="sbr", config=config, inputs={}, ctx=ctx)["df"].read_all()
    )


def _same(source: Any, back: Any, field: pa.Field) -> bool:
    """Equal after the documented widening (unsigned → wider, TIME → interval, JSON → jsonb)."""
    if source is None or back is None:
        return source is back
    if (field.metadata or {}).get(b"osiris.type") == b"json":
        return json.loads(source) == json.loads(back)
    if isinstance(source, dt.timedelta):
        micros = (source.days * 86400 + source.seconds) * 10**6 + source.microseconds
        return (back.months, back.days, back.nanoseconds) == (0, 0, micros * 1000)
    if isinstance(source, int) and isinstance(back, (Decimal, str)):
        return Decimal(back) == source
    if isinstance(source, float) and source != source:
        return back != back
    return source == back


def test_mysql_matrix_into_supabase_and_back(tmp_path, matrix_dbs):
    mysql_conn, sb_conn, pg = matrix_dbs
    source = _extract_mysql(tmp_path, mysql_conn).sort_by("id")
    _write(tmp_path, sb_conn, "type_matrix", source, create_if_missing=True, primary_key="id")
    types = dict(
        pg.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'type_matrix'::regclass AND attnum > 0"
        ).fetchall()
    )
    assert types["biu"] == "numeric(20,0)" and types["tm"] == "interval" and types["bl"] == "bytea"
    assert (
        types["j"] == "jsonb"
        and types["dec38"] == "numeric(38,10)"
        and types["dec65"] == "numeric(65,30)"
    )
    assert (
        types["ts"] == "timestamp with time zone" and types["dtm6"] == "timestamp without time zone"
    )
    assert types["f"] == "real" and types["d"] == "double precision"
    back = _read(
        tmp_path, sb_conn, query=f'SELECT * FROM "{sb_conn["schema"]}".type_matrix ORDER BY id'
    )
    assert back.num_rows == source.num_rows == 5
    problems = []
    for field in source.schema:
        for row, (a, b) in enumerate(
            zip(source[field.name].to_pylist(), back[field.name].to_pylist(), strict=True)
        ):
            if not _same(a, b, field):
                problems.append(f"{field.name} row {row + 1}: {a!r} -> {b!r}")
    assert problems == []
    assert pg.execute(
        "SELECT tm::text, biu::text, bl FROM type_matrix WHERE id = 2"
    ).fetchone() == ("838:59:59", "18446744073709551615", b"\x00" * 7)


def test_supabase_to_parquet_to_supabase(tmp_path, matrix_dbs):
    mysql_conn, sb_conn, pg = matrix_dbs
    _write(
        tmp_path,
        sb_conn,
        "type_matrix",
        _extract_mysql(tmp_path, mysql_conn),
        create_if_missing=True,
    )
    pg.execute(
        "ALTER TABLE type_matrix ADD COLUMN iv interval, ADD COLUMN u uuid, ADD COLUMN free numeric,"
        " ADD COLUMN arr text[]"
    )
    pg.execute(
        "UPDATE type_matrix SET iv = '1 year 2 mons -3 days 00:00:00.000001',"
        " u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
        " free = 123456789012345678901234567890.123456789012345678901234567890,"
        " arr = ARRAY['a,b', NULL, 'c\"d'] WHERE id = 2"
    )
    table = _read(tmp_path, sb_conn, table="type_matrix", interval_as="text")
    pq.write_table(table, tmp_path / "matrix.parquet")
    _write(
        tmp_path,
        sb_conn,
        "again",
        pq.read_table(tmp_path / "matrix.parquet"),
        create_if_missing=True,
    )
    same_types = pg.execute(
        "SELECT count(*) FROM pg_attribute a JOIN pg_attribute b ON a.attname = b.attname"
        " WHERE a.attrelid = 'type_matrix'::regclass AND b.attrelid = 'again'::regclass AND a.attnum > 0"
        " AND format_type(a.atttypid, a.atttypmod) <> format_type(b.atttypid, b.atttypmod)"
    ).fetchone()[0]
    assert same_types == 0
    assert (
        pg.execute(
            "SELECT count(*) FROM ((TABLE type_matrix EXCEPT TABLE again) UNION ALL (TABLE again EXCEPT TABLE type_matrix)) d"
        ).fetchone()[0]
        == 0
    )
    assert pg.execute("SELECT count(*) FROM again").fetchone()[0] == 5
