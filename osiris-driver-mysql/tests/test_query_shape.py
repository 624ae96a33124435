"""The top-level ORDER BY / LIMIT of a query, found past literals, comments and subqueries."""

from __future__ import annotations

import pytest
from osiris_driver_mysql.connect import quote_ident
from osiris_driver_mysql.query_shape import Untranslatable, outer_order_by, shape_of

NAMES = ["id", "v", "my, col", "Name"]


@pytest.mark.parametrize(
    ("query", "order", "limit"),
    [
        ("SELECT * FROM t", None, False),
        ("SELECT * FROM t ORDER BY id DESC", "ORDER BY `id` DESC", False),
        ("SELECT * FROM t ORDER BY 2, name desc LIMIT 5", "ORDER BY `v` ASC, `Name` DESC", True),
        ("SELECT `my, col` FROM t ORDER BY `my, col`", "ORDER BY `my, col` ASC", False),
        ("SELECT 'ORDER BY x' AS id FROM t -- ORDER BY v", None, False),
        ("SELECT id, ROW_NUMBER() OVER (ORDER BY v) AS n FROM t", None, False),
        ("SELECT * FROM (SELECT * FROM t ORDER BY v LIMIT 3) q", None, False),
        ("SELECT id FROM a UNION SELECT id FROM b ORDER BY id", "ORDER BY `id` ASC", False),
        ("WITH c AS (SELECT * FROM t ORDER BY v) SELECT * FROM c ORDER BY id /* c */;",
         "ORDER BY `id` ASC", False),
        ("SELECT GROUP_CONCAT(v ORDER BY v) AS id FROM t ORDER BY 1 # tail",
         "ORDER BY `id` ASC", False),
    ],
)  # fmt: skip
def test_order_by_carried_to_the_outer_query(query, order, limit):
    shape = shape_of(query)
    assert shape.has_limit is limit
    assert outer_order_by(shape, NAMES, quote_ident) == order


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("SELECT * FROM t ORDER BY ABS(v)", "ORDER BY ABS(v) is not a column"),
        ("SELECT * FROM t ORDER BY t.id", "ORDER BY t.id is not a column"),
        ("SELECT * FROM t ORDER BY 5", "ORDER BY 5 is not a column position"),
        ("SELECT * FROM t ORDER BY other", "ORDER BY other is not a column"),
    ],
)
def test_orders_that_cannot_be_carried_are_named(query, why):
    with pytest.raises(Untranslatable, match=why.replace("(", r"\(").replace(")", r"\)")):
        outer_order_by(shape_of(query), NAMES, quote_ident)
