"""The canonical text of osiris.verify is the same in DuckDB (the Arrow side), MariaDB and
PostgreSQL, value by value, for every supported type with values at the edges; and so are the
column checksums built on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
from osiris.verify import ArrowChecksum
from osiris.verify.arrow import _prepared
from osiris.verify.canonical import (
    checksum_sql,
    column_of,
    duckdb_checksum_query,
    duckdb_text,
    mysql_text,
    postgres_text,
)

UTC = dt.UTC
FLOATS = [0.1, 1e20, 1e-7, -1.2345678901234568e17, 5e-324, 1.7976931348623157e308, 100.0,
          1e15, 1e16, 123456.789, 0.30000000000000004, -0.0, -2.5e-300, 1.0, 2**53 + 0.0]  # fmt: skip
FLOAT32 = [0.1, 3.4028234663852886e38, 16777215.0, 1.401298464324817e-45, -2.5]
STAMPS = [dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
          dt.datetime(2024, 1, 1, 0, 0, 0, 1500), dt.datetime(2024, 2, 29, 12, 30, 5)]  # fmt: skip
INSTANTS = [dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
            dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC),
            dt.datetime(2024, 6, 30, 23, 59, 59, 500000, tzinfo=UTC)]  # fmt: skip
# (name, Arrow array, MariaDB column type, PostgreSQL column type or None)
CASES = [
    ("int64", pa.array([0, 1, -1, -(2**63), 2**63 - 1, None], pa.int64()), "BIGINT", "bigint"),
    ("uint64", pa.array([0, 2**64 - 1], pa.uint64()), "BIGINT UNSIGNED", None),
    ("int8", pa.array([-128, 127], pa.int8()), "TINYINT", "smallint"),
    (
        "decimal",
        pa.array(
            [
                Decimal("0.0000000000"),
                Decimal("1.5"),
                Decimal("-0.05"),
                Decimal("1e-10"),
                Decimal("9" * 28 + "." + "9" * 10),
                None,
            ],
            pa.decimal128(38, 10),
        ),
        "DECIMAL(38,10)",
        "numeric(38,10)",
    ),
    (
        "decimal_wider_column",
        pa.array([Decimal("1.50"), Decimal("-7.00")], pa.decimal128(12, 2)),
        "DECIMAL(14,4)",
        "numeric(14,4)",
    ),
    (
        "decimal_free_column",
        pa.array([Decimal("1.50"), Decimal("0.00")], pa.decimal128(12, 2)),
        "DECIMAL(12,2)",
        "numeric",
    ),
    ("int_into_decimal", pa.array([5, -3], pa.int32()), "DECIMAL(10,2)", "numeric(10,2)"),
    ("float64", pa.array([*FLOATS, None]), "DOUBLE", "double precision"),
    ("float32", pa.array(FLOAT32, pa.float32()), "FLOAT", "real"),
    ("boolean", pa.array([True, False, None]), "TINYINT(1)", "boolean"),
    ("bit", pa.array([True, False]), "BIT(1)", None),
    (
        "date",
        pa.array([dt.date(1000, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29), None]),
        "DATE",
        "date",
    ),
    (
        "timestamp",
        pa.array(STAMPS, pa.timestamp("us")),
        "DATETIME(6)",
        "timestamp without time zone",
    ),
    (
        "timestamp_into_tz",
        pa.array(STAMPS[2:], pa.timestamp("us")),
        "TIMESTAMP(6)",
        "timestamp with time zone",
    ),
    (
        "timestamptz",
        pa.array(INSTANTS, pa.timestamp("us", tz="America/New_York")),
        "TIMESTAMP(6)",
        "timestamp with time zone",
    ),
    (
        "text",
        pa.array(["", "Zoë 🎬 東京", 'tab\t nl\n "q" \\ \'', "  spaces  ", None]),
        "TEXT",
        "text",
    ),
    ("json", pa.array(['{"a": [1, 2.50], "b": null}', "[]", '"x"']), "JSON", "json"),
    ("binary", pa.array([b"", b"\x00\xff\n", b"abc", None]), "BLOB", "bytea"),
]
PG_ONLY = [
    ("float_special", pa.array([float("nan"), float("inf"), float("-inf")]), "double precision"),
    ("date_year_1", pa.array([dt.date(1, 1, 1)]), "date"),
]


def _field(name: str, array: pa.Array) -> pa.Field:
    meta = {b"osiris.type": b"json"} if name == "json" else None
    return pa.field("v", array.type, metadata=meta)


def _duckdb_texts(name: str, array: pa.Array) -> list[str | None]:
    column = column_of(_field(name, array))
    return [
        r[0]
        for r in _duckdb(
            {"v": _prepared(array)}, f"SELECT {duckdb_text(column, 'v')} FROM arrow_in"
        )
    ]


def _duckdb(columns: dict, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.register("arrow_in", pa.table(columns))
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def _python_values(name: str, array: pa.Array) -> list:
    values = array.to_pylist()
    if array.type == pa.float32():
        return [None if v is None else float(v) for v in values]
    if pa.types.is_timestamp(array.type) and array.type.tz:
        return [v.astimezone(UTC).replace(tzinfo=None) for v in values]  # sessions are UTC
    return values


@pytest.mark.parametrize(
    ("name", "array", "mysql_type", "pg_type"), CASES, ids=[c[0] for c in CASES]
)
def test_mariadb_postgres_and_duckdb_print_the_same_text(
    mysql, postgres, name, array, mysql_type, pg_type
):
    expected = _duckdb_texts(name, array)
    column = column_of(_field(name, array))
    db = mysql.database("canon")
    values = _python_values(name, array)
    conn = mysql.connect(db)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE c (id INT PRIMARY KEY, v {mysql_type})")
        cur.executemany("INSERT INTO c VALUES (%s, %s)", list(enumerate(values)))
        cur.execute(f"SELECT {mysql_text(column, 'v', mysql_type.split('(')[0].split()[0])}"
                    " FROM c ORDER BY id")  # fmt: skip
        assert [r[0] for r in cur.fetchall()] == expected
    conn.close()
    if pg_type is None:
        return
    _, pg = postgres.schema("canon")
    pg.execute(f"CREATE TABLE c (id int PRIMARY KEY, v {pg_type})")
    pg_values = array.to_pylist()
    with pg.cursor() as cur:
        cur.executemany("INSERT INTO c VALUES (%s, %s)", list(enumerate(pg_values)))
    base = pg_type.split("(")[0]
    got = pg.execute(f"SELECT {postgres_text(column, 'v', base)} FROM c ORDER BY id").fetchall()
    assert [r[0] for r in got] == expected


@pytest.mark.parametrize(("name", "array", "pg_type"), PG_ONLY, ids=[c[0] for c in PG_ONLY])
def test_postgres_only_values(postgres, name, array, pg_type):
    expected = _duckdb_texts(name, array)
    _, pg = postgres.schema("canon")
    pg.execute(f"CREATE TABLE c (id int PRIMARY KEY, v {pg_type})")
    with pg.cursor() as cur:
        cur.executemany("INSERT INTO c VALUES (%s, %s)", list(enumerate(array.to_pylist())))
    column = column_of(_field(name, array))
    got = pg.execute(f"SELECT {postgres_text(column, 'v', pg_type)} FROM c ORDER BY id").fetchall()
    assert [r[0] for r in got] == expected
    assert expected in (["NaN", "Infinity", "-Infinity"], ["0001-01-01"])


def test_checksums_agree_across_engines(mysql, postgres):
    """The sums too, not only the texts: DuckDB over Arrow (float columns through the staged
    query), MariaDB and PostgreSQL in SQL."""
    table = pa.table({"f": pa.array(FLOATS * 50), "s": pa.array(["a", "é", ""] * 250)})
    checksum = ArrowChecksum(table.schema)
    for batch in table.to_batches(max_chunksize=100):
        checksum.update(batch)
    want = {n: (s.count, s.total) for n, s in checksum.sums.items()}
    floats = {"f": table.column("f")}
    f = column_of(table.schema.field("f"))
    staged = _duckdb({"c0": table.column("f")}, duckdb_checksum_query([f], "arrow_in"))[0][:2]
    text = duckdb_text(f, "f")
    inline = _duckdb(floats, f"SELECT count(f), {checksum_sql('duckdb', text)} FROM arrow_in")[0]
    assert (int(staged[0]), int(staged[1])) == (int(inline[0]), int(inline[1])) == want["f"]

    rows = list(
        zip(range(750), table.column("f").to_pylist(), table.column("s").to_pylist(), strict=True)
    )
    db = mysql.database("canon")
    conn = mysql.connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE c (id INT PRIMARY KEY, f DOUBLE, s VARCHAR(10))")
        cur.executemany("INSERT INTO c VALUES (%s, %s, %s)", rows)
        cols = {n: column_of(table.schema.field(n)) for n in ("f", "s")}
        select = ", ".join(
            f"COUNT({n}), {checksum_sql('mysql', mysql_text(c, n, t))}"
            for (n, c), t in zip(cols.items(), ("double", "varchar"), strict=True)
        )
        cur.execute(f"SELECT {select} FROM c")
        got = cur.fetchone()
    conn.close()
    assert {"f": (got[0], int(got[1])), "s": (got[2], int(got[3]))} == want
    _, pg = postgres.schema("canon")
    pg.execute("CREATE TABLE c (id int PRIMARY KEY, f double precision, s text)")
    with pg.cursor() as cur:
        cur.executemany("INSERT INTO c VALUES (%s, %s, %s)", rows)
    select = ", ".join(
        f"count({n}), {checksum_sql('postgres', postgres_text(c, n, t))}"
        for (n, c), t in zip(cols.items(), ("double precision", "text"), strict=True)
    )
    got = pg.execute(f"SELECT {select} FROM c").fetchone()
    assert {"f": (got[0], int(got[1])), "s": (got[2], int(got[3]))} == want
