import pytest
from osiris.connections import parse_reference
from osiris.errors import InvalidInputError


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("@mysql.default", ("mysql", "default")),
        ("@mysql", ("mysql", None)),
        ("@my_sql-2.prod-db_1", ("my_sql-2", "prod-db_1")),
        ("@_x._y", ("_x", "_y")),
    ],
)
def test_valid_references(ref, expected):
    assert parse_reference(ref) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "mysql.default",
        "@",
        "@mysql.",
        "@.alias",
        "@mysql.a.b",
        "@1mysql",
        "@mysql.9x",
        " @mysql",
        "@mysql.default\n",
        "@my sql",
        None,
        3,
        "",
    ],
)
def test_invalid_references(ref):
    with pytest.raises(InvalidInputError, match="expected '@family"):
        parse_reference(ref)
