"""The canonical text of every value the content check hashes, and the SQL that produces it.

One definition, three engines: DuckDB (over the Arrow data going in), MySQL/MariaDB and
PostgreSQL (over the target, inside the write's transaction). docs/user/components.md spells
the same rules out; tests/test_verify_canonical.py checks that the three agree value by value.

Per kind (NULL is never hashed; it only lowers the column's non-NULL count):

- integer: decimal digits, ``-`` for negatives (``0``, ``-12``, ``18446744073709551615``).
- decimal(p, s): exactly ``s`` fraction digits, no exponent, ``0.`` before a fraction
  (``1.50``, ``-0.05``, ``0.00``); a target value with more digits than ``s`` keeps them, so it
  can never match.
- float (32 and 64 bit, as the exact double): the shortest digits that round-trip, written as
  an integer mantissa without trailing zeros and a power of ten: ``15e-1`` (1.5), ``1e2`` (100),
  ``-3e-7``; zero of either sign is ``0``; ``NaN``, ``Infinity``, ``-Infinity``.
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
    if t.is_decimal(type_):
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
        return float_text("duckdb", f"CAST({sql} AS DOUBLE)")  # see duckdb_float_checksum
    if kind == "boolean":
        return f"CASE WHEN {sql} THEN '1' WHEN NOT {sql} THEN '0' END"
    if kind == "date":
        return f"strftime({sql}, '%Y-%m-%d')"
    if kind in ("timestamp", "timestamptz"):
        return f"strftime(CAST({sql} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f')"
    if kind == "binary":
        return f"lower(hex({sql}))"
    return sql


def duckdb_checksum_query(columns: list[Column], table: str) -> str:
    """One query over the batch ``table`` (columns ``c0, c1, ...``; Python-made texts already
    text) returning, per column, its non-NULL count and hash sum, then the row count and the row
    hash sum. Float texts are built in nested stages: DuckDB evaluates ``float_text``'s repeated
    sub-expressions once per use (15x slower); each stage computes one step once."""
    query = f"SELECT * FROM {table}"
    floats = [i for i, c in enumerate(columns) if c.kind == "float"]
    stages = [
        lambda i: (
            f"CAST(c{i} AS DOUBLE) AS v{i}, lower(CAST(CAST(c{i} AS DOUBLE) AS VARCHAR)) AS t{i}"
        ),
        lambda i: (
            f"split_part(replace(t{i}, '-', ''), 'e', 1) AS m{i}, CASE WHEN contains(t{i}, 'e')"
            f" THEN CAST(split_part(t{i}, 'e', 2) AS BIGINT) ELSE 0 END AS ex{i}"
        ),
        lambda i: f"split_part(m{i}, '.', 1) AS w{i}, split_part(m{i}, '.', 2) AS fr{i}",
        lambda i: f"ltrim(w{i} || fr{i}, '0') AS lead{i}",
        lambda i: f"rtrim(lead{i}, '0') AS d{i}",
    ]
    for stage in stages if floats else []:
        query = f"SELECT *, {', '.join(stage(i) for i in floats)} FROM ({query})"
    texts = []
    for i, column in enumerate(columns):
        if column.kind == "float":
            v = f"v{i}"
            texts.append(
                f"CASE WHEN isnan({v}) THEN 'NaN' WHEN {v} = 'infinity'::DOUBLE THEN 'Infinity'"
                f" WHEN {v} = -'infinity'::DOUBLE THEN '-Infinity' WHEN {v} = 0 THEN '0'"
                f" ELSE (CASE WHEN {v} < 0 THEN '-' ELSE '' END) || d{i} || 'e'"
                f" || CAST(ex{i} - length(fr{i}) + length(lead{i}) - length(d{i}) AS VARCHAR) END"
            )
        else:
            texts.append(duckdb_text(column, f"c{i}"))
    query = f"SELECT {', '.join(f'{t} AS x{i}' for i, t in enumerate(texts))} FROM ({query})"
    names = [f"x{i}" for i in range(len(columns))]
    select = [f"count({x}), {checksum_sql('duckdb', x)}" for x in names]
    select.append(f"count(*), {checksum_sql('duckdb', row_text('duckdb', names))}")
    return f"SELECT {', '.join(select)} FROM ({query})"


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
        return float_text("postgres", f"({sql})::float8")
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
    """Canonical float text from ``value`` (a DOUBLE expression): each engine prints the shortest
    round-trip digits in its own layout (``1e+20``, ``1e20``, ``100.0``, ``0.0000001``); this
    rewrites them as ``<digits>e<power>`` with the mantissa's trailing zeros moved into the
    power. MySQL cannot store NaN or infinities, so only DuckDB and PostgreSQL test for them."""
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
    power = f"({exponent} - {_len(dialect, fraction)} + {_len(dialect, lead)} - {_len(dialect, digits)})"
    sign = f"(CASE WHEN {value} < 0 THEN '-' ELSE '' END)"
    special = ""
    if dialect != "mysql":
        inf = "'infinity'::DOUBLE" if dialect == "duckdb" else "'infinity'::float8"
        nan = f"isnan({value})" if dialect == "duckdb" else f"{value} = 'NaN'::float8"
        special = (
            f" WHEN {nan} THEN 'NaN' WHEN {value} = {inf} THEN 'Infinity'"
            f" WHEN {value} = -{inf} THEN '-Infinity'"
        )
    text = _concat(dialect, sign, digits, "'e'", f"CAST({power} AS {_VARCHAR[dialect]})")
    return f"(CASE{special} WHEN {value} = 0 THEN '0' ELSE {text} END)"


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
