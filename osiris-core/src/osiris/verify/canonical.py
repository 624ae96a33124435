"""The canonical text of every value the content check hashes, and the SQL that produces it.

One definition, three engines: DuckDB (over the Arrow data going in), MySQL/MariaDB and
PostgreSQL (over the target, inside the write's transaction). docs/user/components.md spells
the same rules out; tests/test_verify_canonical.py checks that the three agree value by value.

Per kind (NULL is never hashed; it only lowers the column's non-NULL count):

- integer: decimal digits, ``-`` for negatives (``0``, ``-12``, ``18446744073709551615``).
- decimal(p, s): exactly ``s`` fraction digits, no exponent, ``0.`` before a fraction
  (``1.50``, ``-0.05``, ``0.00``); a target value with more digits than ``s`` keeps them, so it
  can never match.
- float (32 and 64 bit, as the exact double): the shortest digits that round-trip, laid out as
  PostgreSQL prints a double (``extra_float_digits = 1``): plain when the decimal exponent E is
  in -4..14 (``0.0001``, ``100``, ``123456.789``), else ``d.ddde±XX`` with at least two
  exponent digits (``1e-05``, ``1e+15``, ``-1.2345678901234568e+17``); zero of either sign is
  ``0``; ``NaN``, ``Infinity``, ``-Infinity``. PostgreSQL prints it as is (cheap); DuckDB and
  MariaDB rebuild that layout from their own shortest digits.
- boolean: ``1`` / ``0`` (a MySQL TINYINT/BIT holding anything else prints its number).
- date: ``YYYY-MM-DD``.
- timestamp without time zone: ``YYYY-MM-DD HH:MM:SS.ffffff`` (always 6 fraction digits);
  with time zone: the same, of the instant in UTC.
- text and JSON: the UTF-8 text exactly as stored (JSON is not reformatted).
- binary: lower-case hex of the bytes.

A column's checksum is its non-NULL count and the exact sum, over its values, of the first 15
hex digits of the MD5 of the canonical text read as an unsigned integer (60 bits, so the sum is
exact in every engine: SUM over integers is exact NUMERIC/DECIMAL/HUGEINT). A sum does not
depend on row order and counts duplicates. The row checksum is the same over each row's text
(``row_text``): one MD5 per row instead of one per value, so the target compares rows first and
computes the per-column checksums only when the rows differ, to name the column.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

KINDS = (
    "integer",
    "decimal",
    "float",
    "boolean",
    "date",
    "timestamp",
    "timestamptz",
    "text",
    "json",
    "binary",
)
MAX_MYSQL_SCALE = 30


@dataclass(frozen=True)
class Column:
    """One input column as the content check sees it: its kind and, for decimals, its scale."""

    name: str
    kind: str
    scale: int = 0


def column_of(field: pa.Field) -> Column | str:
    """The field's kind, or a sentence saying why it cannot be checked."""
    import pyarrow.types as t

    type_ = field.type
    if t.is_dictionary(type_):
        type_ = type_.value_type
    meta = field.metadata or {}
    if t.is_integer(type_):
        return Column(field.name, "integer")
    if t.is_decimal(type_) and type_.scale >= 0:
        return Column(field.name, "decimal", type_.scale)
    if t.is_floating(type_):
        return Column(field.name, "float")
    if t.is_boolean(type_):
        return Column(field.name, "boolean")
    if t.is_date(type_):
        return Column(field.name, "date")
    if t.is_timestamp(type_):
        return Column(field.name, "timestamptz" if type_.tz else "timestamp")
    if t.is_string(type_) or t.is_large_string(type_):
        is_json = meta.get(b"osiris.type") == b"json"
        return Column(field.name, "json" if is_json else "text")
    if t.is_binary(type_) or t.is_large_binary(type_) or t.is_fixed_size_binary(type_):
        return Column(field.name, "binary")
    return f"type {type_} has no canonical text"


# --- DuckDB (the Arrow side) -----------------------------------------------------------------


def duckdb_text(column: Column, sql: str) -> str:
    """DuckDB expression of the canonical text of ``sql`` (a column of the registered batch;
    timestamps with a zone arrive as UTC wall-clock timestamps, see ``arrow.py``)."""
    kind = column.kind
    if kind in ("integer", "decimal"):
        return f"CAST({sql} AS VARCHAR)"  # DuckDB prints a DECIMAL with exactly its scale
    if kind == "float":
        return float_text("duckdb", f"CAST({sql} AS DOUBLE)")  # checksum_query stages it
    if kind == "boolean":
        return f"CASE WHEN {sql} THEN '1' WHEN NOT {sql} THEN '0' END"
    if kind == "date":
        return f"strftime({sql}, '%Y-%m-%d')"
    if kind in ("timestamp", "timestamptz"):
        return f"strftime(CAST({sql} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f')"
    if kind == "binary":
        return f"lower(hex({sql}))"
    return sql


def duckdb_checksum_query(columns: list[Column], table: str, *, rows: bool = True) -> str:
    """Per-column (and with ``rows`` the row) checksums of the batch ``table`` (columns ``c0,
    c1, ...``)."""
    items = [
        (c.kind, f"CAST(c{i} AS DOUBLE)" if c.kind == "float" else duckdb_text(c, f"c{i}"))
        for i, c in enumerate(columns)
    ]
    return checksum_query("duckdb", items, table, per_column=True, rows=rows)


def checksum_query(
    dialect: str,
    items: list[tuple[str, str]],
    source: str,
    *,
    per_column: bool,
    rows: bool = True,
) -> str:
    """A query over ``source`` returning (when ``per_column``) each item's non-NULL count and
    hash sum, then the row count and (when ``rows``) the row hash sum. ``items`` are (kind, SQL of the canonical
    text); in DuckDB a float item is its DOUBLE value instead, and its text is built in nested
    stages, each computing one step once (``float_text`` inline repeats sub-expressions, which
    DuckDB then evaluates once per use: 15x slower)."""
    query = (
        f"SELECT {', '.join(f'{sql} AS c{i}' for i, (_, sql) in enumerate(items))} FROM {source}"
    )
    texts = [f"c{i}" for i in range(len(items))]
    floats = [i for i, (kind, _) in enumerate(items) if kind == "float" and dialect == "duckdb"]
    stages = [
        lambda i: f"lower(CAST(c{i} AS VARCHAR)) AS t{i}",
        lambda i: (
            f"split_part(replace(t{i}, '-', ''), 'e', 1) AS m{i}, CASE WHEN contains(t{i}, 'e')"
            f" THEN CAST(split_part(t{i}, 'e', 2) AS BIGINT) ELSE 0 END AS ex{i}"
        ),
        lambda i: f"split_part(m{i}, '.', 1) AS w{i}, split_part(m{i}, '.', 2) AS fr{i}",
        lambda i: f"ltrim(w{i} || fr{i}, '0') AS lead{i}",
        lambda i: f"rtrim(lead{i}, '0') AS d{i}",
        lambda i: f"ex{i} - length(fr{i}) + length(lead{i}) - length(d{i}) AS p{i}",
        lambda i: f"length(d{i}) AS n{i}, p{i} + length(d{i}) - 1 AS e{i}",
    ]
    for stage in stages if floats else []:
        query = f"SELECT *, {', '.join(stage(i) for i in floats)} FROM ({query}) AS s"
    for i in floats:
        texts[i] = _special(
            "duckdb", f"c{i}", _layout("duckdb", f"c{i}", f"d{i}", f"p{i}", f"n{i}", f"e{i}")
        )
    select = ", ".join(f"{t} AS x{i}" for i, t in enumerate(texts)) or "1 AS x"
    query = f"SELECT {select} FROM ({query}) AS s"
    names = [f"x{i}" for i in range(len(items))]
    out = [f"count({x}), {checksum_sql(dialect, x)}" for x in names] if per_column else []
    row_hash = checksum_sql(dialect, row_text(dialect, names)) if rows else "0"
    out.append(f"count(*), {row_hash}")
    return f"SELECT {', '.join(out)} FROM ({query}) AS s"


# --- MySQL / MariaDB ----------------------------------------------------------------------------

_MYSQL_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "year"}
_MYSQL_TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "json", "enum"}
_MYSQL_BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


def mysql_text(column: Column, sql: str, target_type: str) -> str | None:
    """MySQL expression of the canonical text of target column ``sql`` of ``target_type``
    (information_schema ``data_type``); None when that pair has no exact text."""
    kind, target = column.kind, target_type.lower()
    if kind in ("integer", "boolean") and target in _MYSQL_INTEGERS:
        return f"CAST({sql} + 0 AS CHAR)"  # + 0: BIT prints as a number
    if kind in ("integer", "decimal") and target in _MYSQL_INTEGERS | {"decimal"}:
        if column.scale > MAX_MYSQL_SCALE:
            return None
        s = column.scale
        return (
            f"CASE WHEN {sql} = ROUND({sql}, {s}) THEN CAST({sql} AS DECIMAL(65, {s}))"
            f" ELSE CAST({sql} AS CHAR) END"
        )
    if kind == "float" and target in ("double", "float"):
        return float_text("mysql", f"CAST({sql} AS DOUBLE)")
    if kind == "date" and target == "date":
        return f"DATE_FORMAT({sql}, '%Y-%m-%d')"
    if kind in ("timestamp", "timestamptz") and target in ("datetime", "timestamp"):
        return f"DATE_FORMAT({sql}, '%Y-%m-%d %H:%i:%s.%f')"  # sessions run in UTC
    if kind in ("text", "json") and target in _MYSQL_TEXT:
        return f"CONVERT({sql} USING utf8mb4)"
    if kind == "binary" and target in _MYSQL_BINARY:
        return f"LOWER(HEX({sql}))"
    return None


# --- PostgreSQL ---------------------------------------------------------------------------------

_PG_INTEGERS = {"smallint", "integer", "bigint"}
_PG_TEXT = {"text", "character varying", "character", "json", "citext", "name"}


def postgres_text(column: Column, sql: str, target_type: str) -> str | None:
    """PostgreSQL expression of the canonical text of target column ``sql`` whose type is
    ``target_type`` (``format_type`` without modifiers); None when that pair has no exact text."""
    kind, target = column.kind, target_type.lower()
    if kind == "integer" and target in _PG_INTEGERS:
        return f"({sql})::text"
    if kind in ("integer", "decimal") and target in _PG_INTEGERS | {"numeric"}:
        s, value = column.scale, f"({sql})::numeric"
        return f"CASE WHEN {value} = round({value}, {s}) THEN round({value}, {s})::text ELSE {value}::text END"
    if kind == "float" and target in ("double precision", "real"):
        value = f"({sql})::float8"  # the layout is PostgreSQL's own (extra_float_digits = 1)
        return f"(CASE WHEN {value} = 0 THEN '0' ELSE {value}::text END)"
    if kind == "boolean" and target == "boolean":
        return f"CASE WHEN {sql} THEN '1' WHEN NOT {sql} THEN '0' END"
    if kind == "boolean" and target in _PG_INTEGERS:
        return f"({sql})::text"
    if kind == "date" and target == "date":
        return f"to_char({sql}, 'YYYY-MM-DD')"
    if kind in ("timestamp", "timestamptz") and target == "timestamp with time zone":
        return f"to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if kind in ("timestamp", "timestamptz") and target == "timestamp without time zone":
        return f"to_char({sql}, 'YYYY-MM-DD HH24:MI:SS.US')"
    if kind in ("text", "json") and target in _PG_TEXT:
        return f"({sql})::text"
    if kind == "binary" and target == "bytea":
        return f"encode({sql}, 'hex')"
    return None


# --- shared pieces ------------------------------------------------------------------------------


def float_text(dialect: str, value: str) -> str:
    """Canonical float text from ``value`` (a DOUBLE expression) for DuckDB and MySQL, whose
    shortest round-trip digits come in their own layouts (``1e+20``, ``1e20``, ``100.0``,
    ``0.0000001``): the digits without leading and trailing zeros (D, n of them) and the power
    P with value = D x 10^P are taken apart, then laid out as PostgreSQL does."""
    native = f"lower(CAST({value} AS {_VARCHAR[dialect]}))"
    absolute = f"replace({native}, '-', '')"  # drops the sign and the exponent's minus
    mantissa = _part(dialect, absolute, "e", 1)
    exponent_text = _part(dialect, native, "e", 2)  # keeps the exponent's sign
    exponent = (
        f"(CASE WHEN {exponent_text} = '' THEN 0 ELSE CAST({exponent_text} AS {_INT[dialect]}) END)"
    )
    whole = _part(dialect, mantissa, ".", 1)
    fraction = _part(dialect, mantissa, ".", 2)
    lead = _trim(dialect, "LEADING", _concat(dialect, whole, fraction))
    digits = _trim(dialect, "TRAILING", lead)
    n = _len(dialect, digits)
    power = f"({exponent} - {_len(dialect, fraction)} + {_len(dialect, lead)} - {n})"
    return _special(
        dialect, value, _layout(dialect, value, digits, power, n, f"({power} + {n} - 1)")
    )


def _special(dialect: str, value: str, text: str) -> str:
    """Zero, NaN and the infinities around ``text`` (MySQL stores neither NaN nor infinity)."""
    special = ""
    if dialect != "mysql":
        inf = "'infinity'::DOUBLE" if dialect == "duckdb" else "'infinity'::float8"
        nan = f"isnan({value})" if dialect == "duckdb" else f"{value} = 'NaN'::float8"
        special = (
            f" WHEN {nan} THEN 'NaN' WHEN {value} = {inf} THEN 'Infinity'"
            f" WHEN {value} = -{inf} THEN '-Infinity'"
        )
    return f"(CASE{special} WHEN {value} = 0 THEN '0' ELSE {text} END)"


def _layout(dialect: str, value: str, d: str, p: str, n: str, e: str) -> str:
    """PostgreSQL's layout of value = D x 10^P (n digits, decimal exponent E = P + n - 1)."""
    c = functools.partial(_concat, dialect)
    integer = "SIGNED" if dialect == "mysql" else "INTEGER"
    dot, point = "'.'", "'0.'"

    def zeros(count: str) -> str:
        return f"repeat('0', CAST({count} AS {integer}))"

    left = f"left({d}, CAST({n} + {p} AS {integer}))"
    right = f"right({d}, CAST(-{p} AS {integer}))"
    fixed = (
        f"CASE WHEN {p} >= 0 THEN {c(d, zeros(p))} WHEN {e} >= 0 THEN {c(left, dot, right)}"
        f" ELSE {c(point, zeros(f'-{e} - 1'), d)} END"
    )
    fraction = f"(CASE WHEN {n} > 1 THEN {c(dot, f'substr({d}, 2)')} ELSE '' END)"
    scientific = c(
        f"left({d}, 1)", fraction, "'e'", f"(CASE WHEN {e} < 0 THEN '-' ELSE '+' END)",
        f"(CASE WHEN abs({e}) < 10 THEN '0' ELSE '' END)",  # lpad would cut 324 to 32
        f"CAST(abs({e}) AS {_VARCHAR[dialect]})",
    )  # fmt: skip
    sign = f"(CASE WHEN {value} < 0 THEN '-' ELSE '' END)"
    return c(sign, f"(CASE WHEN {e} < -4 OR {e} >= 15 THEN {scientific} ELSE {fixed} END)")


_VARCHAR = {"duckdb": "VARCHAR", "postgres": "text", "mysql": "CHAR"}
_INT = {"duckdb": "BIGINT", "postgres": "bigint", "mysql": "SIGNED"}


def _part(dialect: str, text: str, sep: str, index: int) -> str:
    """``split_part(text, sep, index)`` for index 1 or 2 ('' when ``sep`` is absent)."""
    if dialect != "mysql":
        return f"split_part({text}, '{sep}', {index})"
    if index == 1:
        return f"SUBSTRING_INDEX({text}, '{sep}', 1)"
    return f"IF(LOCATE('{sep}', {text}) > 0, SUBSTRING_INDEX({text}, '{sep}', -1), '')"


def _trim(dialect: str, side: str, text: str) -> str:
    if dialect == "mysql":
        return f"TRIM({side} '0' FROM {text})"
    return f"{'ltrim' if side == 'LEADING' else 'rtrim'}({text}, '0')"


def _len(dialect: str, text: str) -> str:
    return f"CHAR_LENGTH({text})" if dialect == "mysql" else f"length({text})"


def _concat(dialect: str, *parts: str) -> str:
    if dialect == "mysql":
        return f"CONCAT({', '.join(parts)})"
    return "(" + " || ".join(parts) + ")"


def row_text(dialect: str, texts: list[str]) -> str:
    """The canonical text of a row: each column's text as ``<bytes>:<text>`` (``N`` for NULL),
    concatenated in column order; unambiguous, so equal row texts mean equal rows."""
    parts = []
    for text in texts:
        if dialect == "mysql":
            parts.append(f"COALESCE(CONCAT(LENGTH({text}), ':', {text}), 'N')")
        else:
            length = "strlen" if dialect == "duckdb" else "octet_length"
            parts.append(
                f"COALESCE(CAST({length}({text}) AS {_VARCHAR[dialect]}) || ':' || {text}, 'N')"
            )
    if not parts:
        return "''"
    if dialect == "mysql":
        return f"CONCAT({', '.join(parts)})"
    return "(" + " || ".join(parts) + ")"


def checksum_sql(dialect: str, text: str) -> str:
    """The exact SUM of the 60-bit hashes of ``text`` (NULL texts are skipped)."""
    if dialect == "mysql":
        return f"SUM(CAST(CONV(SUBSTRING(MD5({text}), 1, 15), 16, 10) AS UNSIGNED))"
    if dialect == "postgres":
        return f"sum(('x0' || substr(md5({text}), 1, 15))::bit(64)::bigint)"
    return f"sum(CAST('0x' || substr(md5({text}), 1, 15) AS UBIGINT))"
