"""The REST transport with the real ``supabase`` client against the PostgREST-compatible server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.errors import OsirisError, StepError
from osiris.stepdata import StepData
from osiris.testing import make_context
from osiris_driver_supabase.extractor import SupabaseExtractor
from osiris_driver_supabase.writer import SupabaseWriter
from postgrest_server import make_jwt

pytestmark = pytest.mark.postgres

JSON = {b"osiris.type": b"json"}


def _input(table: pa.Table, batch_rows: int = 1000) -> dict[str, StepData]:
    reader = pa.RecordBatchReader.from_batches(
        table.schema, table.to_batches(max_chunksize=batch_rows)
    )
    return {"df_up": StepData.from_reader(reader)}


def _write(tmp_path, conn, config, data):
    ctx, rec = make_context(tmp_path, step_id="w", connection=conn)
    SupabaseWriter().run(step_id="w", config={"retry_backoff_s": 0, **config}, inputs=data, ctx=ctx)
    return rec


def _read(tmp_path, conn, config):
    ctx, rec = make_context(tmp_path, step_id="r", connection=conn)
    return SupabaseExtractor().run(step_id="r", config=config, inputs={}, ctx=ctx)[
        "df"
    ].read_all(), rec


def _writes(server):
    return [r for r in server.requests if r.method in ("POST", "PATCH", "DELETE")]


def test_client_sends_upsert_as_documented(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "name": ["a", None]})
    _write(
        tmp_path,
        sb_rest.connection(),
        {"table": "t", "write_mode": "upsert", "primary_key": "id"},
        _input(data),
    )
    (req,) = _writes(sb_rest.server)
    assert req.method == "POST" and req.path == "/rest/v1/t"
    query = dict(req.query)
    assert query["on_conflict"] == "id" and set(query["columns"].split(",")) == {'"id"', '"name"'}
    assert set(req.headers["prefer"].split(",")) == {
        "return=minimal",
        "resolution=merge-duplicates",
        "count=exact",  # the rows written, reconciled per request (osiris.verify)
    }
    assert req.headers["apikey"] == sb_rest.service_key
    assert req.headers["authorization"] == f"Bearer {sb_rest.service_key}"
    assert req.headers["content-profile"] == sb_rest.schema
    assert req.body == [{"id": 1, "name": "a"}, {"id": 2, "name": None}]


def test_append_types_over_rest(tmp_path, sb_pg, sb_rest):
    sb_pg.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, amount numeric(38,10), big numeric(20,0), doc jsonb,"
        " blob bytea, ts timestamptz, tm interval, f double precision, d date, s text)"
    )
    data = pa.table(
        [
            pa.array([1, 2], pa.int64()),
            pa.array(
                [Decimal("1234567890123456789012345678.0123456789"), None], pa.decimal128(38, 10)
            ),
            pa.array([18446744073709551615, 0], pa.uint64()),
            pa.array(['{"a": [1, 2.50]}', None], pa.string()),
            pa.array([b"\x00\xff", b""], pa.binary()),
            pa.array(
                [dt.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=dt.UTC), None],
                pa.timestamp("us", tz="UTC"),
            ),
            pa.array([dt.timedelta(hours=838, minutes=59, seconds=59), None], pa.duration("us")),
            pa.array([float("nan"), 1.7976931348623157e308]),
            pa.array([dt.date(1, 1, 1), None], pa.date32()),
            pa.array(['emoji 😀 \t\n"', ""]),
        ],
        schema=pa.schema(
            [
                pa.field("id", pa.int64()),
                pa.field("amount", pa.decimal128(38, 10)),
                pa.field("big", pa.uint64()),
                pa.field("doc", pa.string(), metadata=JSON),
                pa.field("blob", pa.binary()),
                pa.field("ts", pa.timestamp("us", tz="UTC")),
                pa.field("tm", pa.duration("us")),
                pa.field("f", pa.float64()),
                pa.field("d", pa.date32()),
                pa.field("s", pa.string()),
            ]
        ),
    )
    rec = _write(tmp_path, sb_rest.connection(), {"table": "t"}, _input(data))
    assert rec.metric("rows_written") == 2
    rows = sb_pg.execute(
        "SELECT amount::text, big::text, doc::text, blob, ts, tm::text, f::text, d, s FROM t ORDER BY id"
    ).fetchall()
    # JSON documents travel as parsed JSON: numbers keep their value, not their spelling (2.50)
    assert rows[0] == (
        "1234567890123456789012345678.0123456789",
        "18446744073709551615",
        '{"a": [1, 2.5]}',
        b"\x00\xff",
        dt.datetime(2024, 2, 29, 6, 30, 0, 500000, tzinfo=dt.UTC),
        "838:59:59",
        "NaN",
        dt.date(1, 1, 1),
        'emoji 😀 \t\n"',
    )
    assert (
        rows[1][:3] == (None, "0", None)
        and rows[1][3] == b""
        and rows[1][6] == "1.7976931348623157e+308"
    )


def test_upsert_leaves_columns_outside_the_input_alone(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, name text, note text)")
    sb_pg.execute("INSERT INTO t VALUES (1, 'old', 'keep me')")
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "name": ["new", "two"]})
    _write(
        tmp_path,
        sb_rest.connection(),
        {"table": "t", "write_mode": "upsert", "primary_key": "id"},
        _input(data),
    )
    assert sb_pg.execute("SELECT * FROM t ORDER BY id").fetchall() == [
        (1, "new", "keep me"),
        (2, "two", None),
    ]


@pytest.mark.parametrize("max_rows", [None, 300])  # 300: a project's "Max rows" below a page
def test_replace_over_rest_upserts_then_deletes_the_rest(tmp_path, sb_pg, sb_rest, max_rows):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    sb_pg.execute("INSERT INTO t SELECT g, 'old' FROM generate_series(1, 1500) g")
    sb_rest.server.max_rows = max_rows
    data = pa.table({"id": pa.array(range(1001, 2001), pa.int32()), "v": ["new"] * 1000})
    _write(
        tmp_path,
        sb_rest.connection(),
        {"table": "t", "write_mode": "replace", "primary_key": "id", "batch_size": 400},
        _input(data),
    )
    assert sb_pg.execute(
        "SELECT min(id), max(id), count(*), count(*) FILTER (WHERE v = 'new') FROM t"
    ).fetchone() == (1001, 2000, 1000, 1000)
    with pytest.raises(StepError, match="needs primary_key"):
        _write(
            tmp_path, sb_rest.connection(), {"table": "t", "write_mode": "replace"}, _input(data)
        )
    with pytest.raises(StepError, match="single-column primary_key"):
        _write(
            tmp_path,
            sb_rest.connection(),
            {"table": "t", "write_mode": "replace", "primary_key": ["id", "v"]},
            _input(data),
        )


def test_transient_failures_are_retried_only_when_safe(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "v": ["a", "b"]})
    sb_rest.server.fail_writes[:] = [503, 500, 502]
    _write(
        tmp_path,
        sb_rest.connection(),
        {"table": "t", "write_mode": "upsert", "primary_key": "id"},
        _input(data),
    )
    assert len(_writes(sb_rest.server)) == 4
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    sb_rest.server.fail_writes[:] = [500]  # an append is not idempotent: a 500 is not retried
    with pytest.raises(StepError, match="PGRST000"):
        _write(
            tmp_path,
            sb_rest.connection(),
            {"table": "t"},
            _input(pa.table({"id": pa.array([3], pa.int32())})),
        )
    sb_rest.server.fail_writes[:] = [503]  # 503: the request never ran, safe for append too
    _write(
        tmp_path,
        sb_rest.connection(),
        {"table": "t"},
        _input(pa.table({"id": pa.array([3], pa.int32())})),
    )
    sb_rest.server.fail_writes[:] = [503] * 3
    with pytest.raises(StepError, match="injected failure"):
        _write(
            tmp_path,
            sb_rest.connection(),
            {"table": "t", "retries": 2},
            _input(pa.table({"id": pa.array([4], pa.int32())})),
        )
    assert sb_pg.execute("SELECT array_agg(id ORDER BY id) FROM t").fetchone()[0] == [1, 2, 3]


def test_failed_upsert_is_finished_by_rerunning(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    data = pa.table({"id": pa.array(range(50), pa.int32()), "v": [f"v{i}" for i in range(50)]})

    def dying():
        for n, batch in enumerate(data.to_batches(max_chunksize=10)):
            if n == 3:
                raise RuntimeError("source lost")
            yield batch

    broken = {
        "df_up": StepData.from_reader(pa.RecordBatchReader.from_batches(data.schema, dying()))
    }
    config = {"table": "t", "write_mode": "upsert", "primary_key": "id", "batch_size": 10}
    with pytest.raises(RuntimeError):
        _write(tmp_path, sb_rest.connection(), config, broken)
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 30
    _write(tmp_path, sb_rest.connection(), config, _input(data))
    assert sb_pg.execute("SELECT count(*), count(DISTINCT v) FROM t").fetchone() == (50, 50)


def test_clear_errors_for_rls_unknown_table_and_bad_key(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY)")
    sb_pg.execute("GRANT INSERT ON t TO anon")
    sb_pg.execute("ALTER TABLE t ENABLE ROW LEVEL SECURITY")
    one = pa.table({"id": pa.array([1], pa.int32())})
    with pytest.raises(StepError, match=r"permission denied writing .*row-level security"):
        _write(tmp_path, sb_rest.connection(sb_rest.anon_key), {"table": "t"}, _input(one))
    with pytest.raises(StepError, match="not exposed by the Supabase REST API"):
        _write(tmp_path, sb_rest.connection(), {"table": "nope"}, _input(one))
    bad = make_jwt("another-secret-another-secret-another-secret", "service_role")
    with pytest.raises(StepError, match="rejected the API key"):
        _write(tmp_path, sb_rest.connection(bad), {"table": "t"}, _input(one))
    _write(tmp_path, sb_rest.connection(), {"table": "t"}, _input(one))  # service_role bypasses RLS
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_extract_pages_past_the_cap_with_exact_types(tmp_path, sb_pg, sb_rest):
    sb_pg.execute(
        "CREATE TABLE t AS SELECT g AS id, (g * 1.01)::numeric(30,10) AS amount, ('1e30'::numeric + g) AS huge,"
        " jsonb_build_object('g', g) AS doc, '\\x0001'::bytea AS blob,"
        " timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS ts,"
        " interval '1 mon 2 days' AS iv, CASE WHEN g % 2 = 0 THEN 'even' END AS kind FROM generate_series(1, 2500) g"
    )
    sb_pg.execute("ALTER TABLE t ADD PRIMARY KEY (id)")
    out, rec = _read(tmp_path, sb_rest.connection(), {"table": "t"})
    assert out.num_rows == 2500 and rec.metric("rows_read") == 2500
    offsets = [
        dict(r.query).get("offset") for r in sb_rest.server.requests if r.path == "/rest/v1/t"
    ]
    # a small first page sizes the rest; a short page is not the end, an empty one is
    assert offsets == ["0", "100", "1100", "2100", "2500"]
    assert all(
        dict(r.query)["order"] == "id.asc"
        for r in sb_rest.server.requests
        if r.path == "/rest/v1/t"
    )
    last = out.slice(2499).to_pylist()[0]
    # OpenAPI says only "numeric" (no scale): exact text, marked so a writer recreates numeric
    assert last["amount"] == "2525.0000000000" and out.schema.field("amount").metadata == {
        b"osiris.type": b"numeric"
    }
    assert last["huge"] == "1000000000000000000000000002500"
    assert out.schema.field("doc").metadata == JSON and last["doc"] == '{"g": 2500}'
    assert last["blob"] == b"\x00\x01" and last["ts"] == dt.datetime(
        2024, 1, 1, 0, 41, 40, tzinfo=dt.UTC
    )
    assert (last["iv"].months, last["iv"].days, last["iv"].nanoseconds) == (1, 2, 0)
    as_text, _ = _read(
        tmp_path,
        sb_rest.connection(),
        {"table": "t", "select": "id,iv", "limit": 1, "interval_as": "text"},
    )
    assert as_text.to_pylist() == [{"id": 1, "iv": "1 mon 2 days"}]
    assert as_text.schema.field("iv").metadata == {b"osiris.pg_type": b"interval"}
    filtered, _ = _read(
        tmp_path,
        sb_rest.connection(),
        {
            "table": "t",
            "select": "id,kind",
            "filter": {"kind": "not.is.null", "id": ["gte.10", "lt.20"]},
            "order": "id.desc",
            "limit": 3,
        },
    )
    assert filtered.to_pylist() == [
        {"id": 18, "kind": "even"},
        {"id": 16, "kind": "even"},
        {"id": 14, "kind": "even"},
    ]


def test_extract_reads_everything_when_the_server_caps_pages_lower(tmp_path, sb_pg, sb_rest):
    """A project whose "Max rows" is below the page asked for: short pages, no rows lost."""
    sb_pg.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    sb_pg.execute("ALTER TABLE t ADD PRIMARY KEY (id)")
    sb_rest.server.max_rows = 300
    out, rec = _read(tmp_path, sb_rest.connection(), {"table": "t"})
    assert out.column("id").to_pylist() == list(range(1, 1001))
    assert rec.metric("rows_read") == 1000


def test_extract_asks_for_fewer_wide_rows_per_page(tmp_path, sb_pg, sb_rest, monkeypatch):
    from osiris import batching

    monkeypatch.setattr(batching, "BATCH_BYTES", 64 * 1024)
    monkeypatch.setattr(batching, "FIRST_FETCH", 3)
    sb_pg.execute(
        "CREATE TABLE t AS SELECT g AS id, repeat(chr(65 + g % 26), 10000) AS body"
        " FROM generate_series(1, 40) g"
    )
    sb_pg.execute("ALTER TABLE t ADD PRIMARY KEY (id)")
    out, _ = _read(tmp_path, sb_rest.connection(), {"table": "t"})
    assert out.column("id").to_pylist() == list(range(1, 41))
    limits = [dict(r.query)["limit"] for r in sb_rest.server.requests if r.path == "/rest/v1/t"]
    # 64 KiB // ~10 KB = 6 rows a page: 3 + 6 * 6 = 39 rows, then the last one, then an empty page
    assert limits == ["3"] + ["6"] * 8


def test_failed_replace_over_rest_never_empties_the_table(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    sb_pg.execute("INSERT INTO t SELECT g, 'old' FROM generate_series(1, 20) g")
    data = pa.table({"id": pa.array(range(11, 41), pa.int32()), "v": ["new"] * 30})

    def dying():
        for n, batch in enumerate(data.to_batches(max_chunksize=10)):
            if n == 2:
                raise RuntimeError("source lost")
            yield batch

    broken = {
        "df_up": StepData.from_reader(pa.RecordBatchReader.from_batches(data.schema, dying()))
    }
    config = {"table": "t", "write_mode": "replace", "primary_key": "id", "batch_size": 10}
    with pytest.raises(RuntimeError):
        _write(tmp_path, sb_rest.connection(), config, broken)
    # old rows 1-10 untouched, 11-30 already new; nothing deleted yet
    assert sb_pg.execute(
        "SELECT count(*), count(*) FILTER (WHERE v = 'old') FROM t"
    ).fetchone() == (30, 10)
    _write(tmp_path, sb_rest.connection(), config, _input(data))
    assert sb_pg.execute(
        "SELECT min(id), max(id), count(*), bool_and(v = 'new') FROM t"
    ).fetchone() == (11, 40, 30, True)


@pytest.mark.parametrize(
    ("ddl", "keys", "old"),
    [
        ("numeric(10,2)", pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(10, 2)), "1"),
        (
            "timestamptz",
            pa.array(
                [dt.datetime(2024, 1, 1, 0, 0, 0, 500000), dt.datetime(2024, 1, 2)],
                pa.timestamp("us", tz="UTC"),
            ),
            "'2024-01-01 00:00:00+00'",
        ),
        (
            "uuid",
            pa.array(
                ["AAAAAAAA-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000"]
            ),
            "'cccccccc-0000-0000-0000-000000000000'",
        ),
    ],
)
def test_replace_over_rest_keeps_rows_whose_key_postgres_spells_differently(
    tmp_path, sb_pg, sb_rest, ddl, keys, old
):
    """The new keys are compared as PostgreSQL spells them (1.50 → 1.50, not the float 1.5;
    upper-case uuids; .5 seconds), so the rows just written are never taken for stale ones."""
    sb_pg.execute(f"CREATE TABLE t (id {ddl} PRIMARY KEY, v text)")
    sb_pg.execute(f"INSERT INTO t VALUES ({old}, 'old')")
    data = pa.table({"id": keys, "v": ["new", "new"]})
    config = {"table": "t", "write_mode": "replace", "primary_key": "id"}
    _write(tmp_path, sb_rest.connection(), config, _input(data))
    assert sb_pg.execute("SELECT v, count(*) FROM t GROUP BY v").fetchall() == [("new", 2)]


def test_extract_in_filter_compares_as_the_column_type(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, n numeric(6,2), s text)")
    sb_pg.execute("INSERT INTO t VALUES (1, 1.00, 'a,b'), (2, 2.50, 'c'), (3, 3, 'a')")
    conn = sb_rest.connection()
    out, _ = _read(tmp_path, conn, {"table": "t", "filter": {"n": "in.(1.0,2.5)"}})
    assert sorted(out.column("id").to_pylist()) == [1, 2]
    out, _ = _read(tmp_path, conn, {"table": "t", "filter": {"s": 'in.("a,b",c)'}})
    assert sorted(out.column("id").to_pylist()) == [1, 2]


@pytest.mark.parametrize("number", ["12345678901234567890.123456789", "1e-400", "1e400", "NaN"])
def test_json_numbers_a_float_would_change_are_refused_over_rest(tmp_path, sb_pg, sb_rest, number):
    """The client sends documents through ``json.dumps``: non-integer numbers become floats, so
    one a float cannot hold would be stored changed (or crash the client); it is refused."""
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, j jsonb)")
    docs = ['{"a": 2.50, "big": 123456789012345678901234567890}', f'{{"a": {number}}}']
    data = pa.table(
        [pa.array([1, 2], pa.int32()), pa.array(docs)],
        schema=pa.schema([("id", pa.int32()), pa.field("j", pa.string(), metadata=JSON)]),
    )
    with pytest.raises(OsirisError, match=f"Column 'j' row 2: the JSON number {number} "):
        _write(tmp_path, sb_rest.connection(), {"table": "t", "batch_size": 1}, _input(data))
    assert sb_pg.execute("SELECT j::text FROM t").fetchall() == [
        ('{"a": 2.5, "big": 123456789012345678901234567890}',)  # the value kept, not its spelling
    ]


def test_extract_pages_a_non_unique_order_without_losing_rows(tmp_path, sb_pg, sb_rest):
    """Rows tied on ``order`` came in another order in each page's query, so some were read
    twice and others never; the primary key is appended to make the order total."""
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, k int, pad text)")
    sb_pg.execute(
        "INSERT INTO t SELECT g, g % 2, repeat('x', (g * 7919) % 50)"
        " FROM generate_series(1, 5000) g"
    )
    out, _ = _read(tmp_path, sb_rest.connection(), {"table": "t", "order": "k.desc"})
    assert sorted(out.column("id").to_pylist()) == list(range(1, 5001))
    assert out.column("k").to_pylist() == [1] * 2500 + [0] * 2500
    orders = {dict(r.query).get("order") for r in sb_rest.server.requests if r.method == "GET"}
    assert orders - {None} == {"k.desc,id.asc"}


def test_extract_without_a_primary_key_pages_in_a_stable_order(tmp_path, sb_pg, sb_rest):
    """A keyless table (or a view): every column breaks ties, so no row is lost or doubled."""
    sb_pg.execute("CREATE TABLE t AS SELECT g % 3 AS k, g AS v FROM generate_series(1, 2500) g")
    out, _ = _read(tmp_path, sb_rest.connection(), {"table": "t", "order": "k.asc"})
    assert sorted(out.column("v").to_pylist()) == list(range(1, 2501))
    orders = {dict(r.query)["order"] for r in sb_rest.server.requests if r.path == "/rest/v1/t"}
    assert orders == {"k.asc,v.asc"}


@pytest.mark.parametrize("transport", ["rest", "postgres"])
def test_duplicate_input_column_names_are_refused(
    tmp_path, sb_pg, sb_rest, sb_db_connection, transport
):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY)")
    data = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["id", "id"])
    connection = sb_rest.connection() if transport == "rest" else sb_db_connection
    with pytest.raises(StepError, match=r"duplicate column names \['id'\]"):
        _write(tmp_path, connection, {"table": "t"}, _input(data))
    assert sb_pg.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_naive_timestamps_into_timestamptz_mean_utc_over_rest(tmp_path, sb_pg, sb_rest):
    sb_pg.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamptz, plain timestamp)")
    sb_pg.execute("ALTER DATABASE test SET TimeZone = 'America/New_York'")  # server's own zone
    try:
        naive = pa.array([dt.datetime(2024, 1, 1, 12, 0)], pa.timestamp("us"))
        _write(
            tmp_path,
            sb_rest.connection(),
            {"table": "t"},
            _input(pa.table({"id": pa.array([1], pa.int32()), "at": naive, "plain": naive})),
        )
    finally:
        sb_pg.execute("ALTER DATABASE test RESET TimeZone")
    row = sb_pg.execute("SELECT at, plain FROM t").fetchone()
    assert row[0] == dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert row[1] == dt.datetime(2024, 1, 1, 12, 0)
