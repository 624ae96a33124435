"""FLOAT columns read exactly through `query:`: values the text protocol rounds, both readers.

MariaDB prints FLOAT with 6 significant digits (16777215 arrives as 16777200); the extractor
wraps the query in a derived table reading FLOATs as exact doubles and keeps its ORDER BY.
"""

from __future__ import annotations

import struct
import sys

import pyarrow as pa
import pytest
from osiris.errors import StepError
from osiris_driver_mysql.extractor import MySQLExtractor

pytestmark = pytest.mark.mysql


def f32(value: float) -> float:
    """The float32 nearest ``value``, as the double that holds it exactly."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


VALUES = {
    1: 16777215.0,  # 2**24 - 1: the text protocol prints 16777200
    2: f32(0.1),
    3: f32(3.4028235e38),  # FLT_MAX
    4: -f32(3.4028235e38),
    5: f32(-1.5e-7),
    6: 2.0**-149,  # the smallest subnormal
    7: 2.0**-126 - 2.0**-149,  # the largest subnormal
    8: f32(1.0000001),
    9: None,
}


@pytest.fixture(params=["mysqlclient", "pymysql"])
def reader_kind(request, monkeypatch):
    """Run each test through mysqlclient (C) and through pymysql (pure Python)."""
    if request.param == "mysqlclient":
        pytest.importorskip("MySQLdb")
    else:
        monkeypatch.setitem(sys.modules, "MySQLdb", None)
        monkeypatch.setitem(sys.modules, "MySQLdb.cursors", None)
    return request.param


@pytest.fixture
def floats(mysql_exec):
    mysql_exec("CREATE TABLE f (id INT PRIMARY KEY, v FLOAT NULL, label VARCHAR(10))")
    for key, value in VALUES.items():
        mysql_exec("INSERT INTO f VALUES (%s, %s, %s)", params=(key, value, f"r{key}"))
    rounded = mysql_exec("SELECT v FROM f WHERE id = 1")[0][0]
    assert rounded != 16777215.0  # the text protocol really rounds (else this test proves nothing)
    return mysql_exec


def run(mysql_ctx, **config):
    ctx, recorded = mysql_ctx("read_f")
    out = MySQLExtractor().run(step_id="read_f", config=config, inputs={}, ctx=ctx)
    return out["df"].read_all(), recorded


def expected(ids):
    return pa.array([VALUES[i] for i in ids], pa.float32())


def test_select_star_reads_every_float_exactly(mysql_ctx, floats, reader_kind):
    table, _ = run(mysql_ctx, query="SELECT * FROM f")
    assert table.schema.field("v").type == pa.float32()
    table = table.sort_by("id")
    assert table["v"].combine_chunks().equals(expected(table["id"].to_pylist()))
    assert table["label"].to_pylist() == [f"r{i}" for i in VALUES]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("SELECT * FROM f ORDER BY id DESC", [9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("SELECT label, v, id FROM f WHERE id < 5 ORDER BY 3 DESC", [4, 3, 2, 1]),
        ("SELECT v, id AS `my id` FROM f ORDER BY `my id` DESC LIMIT 3", [9, 8, 7]),
        ("SELECT * FROM f WHERE label <> 'ORDER BY' ORDER BY v, id -- a comment", None),
        ("WITH c AS (SELECT * FROM f ORDER BY id) SELECT * FROM c ORDER BY ID DESC # hash", None),
    ],
)
def test_the_query_order_survives_the_wrapping(mysql_ctx, floats, reader_kind, query, ids):
    table, _ = run(mysql_ctx, query=query)
    got = table.column(table.schema.get_field_index("id") if "id" in table.schema.names else 1)
    got_ids = got.to_pylist()
    if ids is None:  # ORDER BY v, id: NULL first, then ascending floats
        if "v, id" in query:
            ordered = [i for i in VALUES if VALUES[i] is None] + sorted(
                (i for i in VALUES if VALUES[i] is not None), key=lambda i: VALUES[i]
            )
            assert got_ids == ordered
        else:
            assert got_ids == sorted(VALUES, reverse=True)
    else:
        assert got_ids == ids
    assert table["v"].combine_chunks().equals(expected(got_ids))


def test_limit_option_keeps_the_query_order_when_wrapped(mysql_ctx, floats, reader_kind):
    table, _ = run(mysql_ctx, query="SELECT id, v FROM f ORDER BY id DESC", limit=2)
    assert table["id"].to_pylist() == [9, 8]
    assert table["v"].combine_chunks().equals(expected([9, 8]))


def test_an_order_that_cannot_be_carried_outside_is_refused_naming_why(mysql_ctx, floats):
    with pytest.raises(StepError) as raised:
        run(mysql_ctx, query="SELECT id, v FROM f ORDER BY ABS(v)")
    message = str(raised.value)
    assert "Step 'read_f'" in message and "FLOAT column(s) ['v']" in message
    assert "ORDER BY ABS(v) is not a column of the result" in message
    with pytest.raises(StepError, match=r"ORDER BY f\.id is not a column"):
        run(mysql_ctx, query="SELECT id, v FROM f ORDER BY f.id")


def test_queries_without_float_are_not_wrapped(mysql_ctx, floats):
    """An expression ORDER BY is fine when nothing needs the wrapping."""
    table, _ = run(mysql_ctx, query="SELECT id, label FROM f ORDER BY -id LIMIT 2")
    assert table["id"].to_pylist() == [9, 8]


def test_the_read_only_guard_still_applies(mysql_ctx, floats):
    with pytest.raises(StepError, match="read-only"):
        run(mysql_ctx, query="SELECT * FROM f; DROP TABLE f")
    assert floats("SELECT COUNT(*) FROM f")[0][0] == len(VALUES)
