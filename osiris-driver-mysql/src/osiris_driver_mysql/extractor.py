"""mysql.extractor: streams Arrow record batches from a server-side cursor, read-only.

The query is checked by ``osiris.sqlguard`` (a single SELECT / WITH … SELECT) and runs inside
``START TRANSACTION READ ONLY``. Values arrive as text and are cast column by column to exact
Arrow types (see ``types.py``); memory is bounded by a batch (``batch_size`` rows, fewer when
rows are wide), not by the table.

FLOAT columns are read as ``col + 0e0`` (an exact DOUBLE; the text protocol prints FLOAT with 6
digits): in table mode in the select list, in query mode through a derived table wrapping the
query, whose own ORDER BY is carried outside (``query_shape``). ``incremental:`` adds
``cursor > mark`` (``>=`` with a lookback or an initial value) and orders by the cursor.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from osiris.batching import first_fetch, next_fetch
from osiris.errors import StepError

from osiris_driver_mysql.connect import (
    connect_pymysql,
    connect_raw_reader,
    quote_ident,
    quote_table,
    validate_table_name,
)
from osiris_driver_mysql.types import (
    BINARY_CHARSET,
    BLOB_TYPES,
    FLOAT,
    JSON,
    NOT_NULL_FLAG,
    Column,
    column_converter,
    first_bad_row,
)

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_BATCH_SIZE = 10_000


def build_query(
    step_id: str,
    config: Mapping[str, Any],
    *,
    select: str | None = None,
    cursor: tuple[str, str] | None = None,
) -> tuple[str, str | None]:
    """The SELECT to run and, in table mode, the table it reads (``select`` overrides the list).

    ``cursor`` (table mode) is ``(condition or "", cursor column)``: the condition joins the
    ``where`` and the rows are ordered by the column.
    """
    query, table = config.get("query"), config.get("table")
    if bool(query) == bool(table):
        raise StepError(step_id, "set exactly one of 'query' or 'table'.")
    limit = config.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise StepError(step_id, f"'limit' must be a non-negative integer, not {limit!r}.")
    if query:  # a limit is applied while reading: wrapping would drop the query's ORDER BY
        return str(query).strip().rstrip(";").strip(), None
    try:
        validate_table_name(str(table))
        columns = config.get("columns") or []
        if select is None:
            select = ", ".join(quote_ident(str(c)) for c in columns) if columns else "*"
        sql = f"SELECT {select} FROM {quote_table(str(table))}"
    except ValueError as exc:
        raise StepError(step_id, f"{exc}.") from exc
    conditions = [f"({config['where']}\n)"] if config.get("where") else []
    if cursor is not None and cursor[0]:
        conditions.append(cursor[0])
    if conditions:  # on its own line: a trailing `-- comment` must not hide the LIMIT
        sql += " WHERE " + " AND ".join(conditions) + "\n"
    if cursor is not None:
        sql += f" ORDER BY {quote_ident(cursor[1])}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, str(table)


def check_read_only(step_id: str, sql: str) -> None:
    """Refuse anything but a single SELECT before it reaches the server."""
    from osiris.sqlguard import read_only_problem

    problem = read_only_problem(sql, dialect="mysql")
    if problem:
        raise StepError(step_id, f"the extractor only runs read-only queries: {problem}")


def _json_checks_sql(table: str | None, *, mariadb: bool) -> tuple[str, tuple]:
    """The query for column names with a ``json_valid`` check (MariaDB's JSON columns).

    In table mode only that table's checks count: a JSON column of the same name in another table
    must not mark a plain text column, and ``db.table`` looks in ``db``. MySQL's
    ``check_constraints`` has no ``table_name`` (MySQL marks JSON by its type code anyway).
    """
    sql = (
        "SELECT DISTINCT SUBSTRING(check_clause, 13, CHAR_LENGTH(check_clause) - 14)"
        " FROM information_schema.check_constraints"
        " WHERE check_clause LIKE 'json\\_valid(`%%`)'"  # %% : run with parameters
    )
    if table is None:
        return sql + " AND constraint_schema = DATABASE()", ()
    schema, name = validate_table_name(table)
    sql += " AND constraint_schema = COALESCE(%s, DATABASE())"
    if not mariadb:
        return sql, (schema,)
    return sql + " AND table_name = %s", (schema, name)


def probe_columns(conn: Any, sql: str, table: str | None = None) -> list[Column]:
    """Result metadata without reading rows (``LIMIT 0`` over the query), JSON columns marked."""
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION READ ONLY")
        try:  # the query on its own lines: a trailing `-- comment` must not swallow the `)`
            cur.execute(f"SELECT * FROM (\n{sql}\n) AS _osiris_probe LIMIT 0")
            fields = cur._result.fields
            mariadb = "mariadb" in str(conn.get_server_info()).lower()
            cur.execute(*_json_checks_sql(table, mariadb=mariadb))
            json_names = {row[0] for row in cur.fetchall()}
        finally:
            cur.execute("COMMIT")
    columns = []
    for f in fields:
        # MariaDB sends JSON as LONGTEXT; its json_valid() CHECK constraint tells them apart.
        is_json = f.type_code == JSON or (
            f.type_code in BLOB_TYPES and f.charsetnr != BINARY_CHARSET and f.name in json_names
        )
        columns.append(
            Column(f.name, f.type_code, f.flags, f.charsetnr, f.length, f.scale, is_json)
        )
    return columns


class MySQLExtractor:
    """Driver for ``mysql.extractor``."""

    def run(self, *, step_id: str, config: dict, inputs: dict, ctx: Any) -> dict:
        import pyarrow as pa

        if not ctx.connection:
            raise StepError(step_id, "no connection; set 'connection: \"@mysql.<alias>\"'.")
        from osiris.state.cursor import incremental_of

        incremental = incremental_of(step_id, config, ctx)
        if incremental is not None and config.get("limit") is not None:
            raise StepError(
                step_id,
                "'limit' cannot be combined with 'incremental': a limit can cut rows that share"
                " the last cursor value, and the next run would skip them.",
                hint="Remove 'limit'; the first run can start later with incremental.initial.",
            )
        sql, table = build_query(step_id, config)
        check_read_only(step_id, sql)
        batch_size = int(config.get("batch_size") or DEFAULT_BATCH_SIZE)
        as_bool = bool(config.get("tinyint1_as_bool", False))
        try:
            meta_conn = connect_pymysql(ctx.connection)
            try:
                columns = probe_columns(meta_conn, sql, table)
                names = [c.name for c in columns]
                if len(set(names)) != len(names):
                    dup = sorted({n for n in names if names.count(n) > 1})
                    raise StepError(
                        step_id, f"the result has duplicate column names {dup}; alias them."
                    )
                schema = pa.schema([c.arrow_field(tinyint1_as_bool=as_bool) for c in columns])
                if incremental is not None:
                    _bind_cursor(incremental, meta_conn, sql, columns, schema)
            finally:
                meta_conn.close()
        except StepError:
            raise
        except Exception as exc:
            raise StepError(step_id, f"the query failed: {_describe(exc)}") from exc
        floats = {c.name for c in columns if c.type_code == FLOAT}
        cursor = None
        if incremental is not None:
            cursor = (_cursor_condition(incremental), incremental.column)
        if table is not None and (floats or cursor):
            select = _select_list(names, floats) if floats else None
            sql, _ = build_query(step_id, config, select=select, cursor=cursor)
        elif table is None and (floats or cursor):
            sql = _wrapped(step_id, sql, names, floats, cursor)
        check_read_only(step_id, sql)
        reader = _Reader(step_id, ctx, sql, columns, schema, batch_size)
        reader.limit = config.get("limit") if table is None else None
        batches = reader.batches()
        if incremental is not None:
            incremental.start_event(ctx)
            batches = incremental.track(batches, ctx)
        return {"df": pa.RecordBatchReader.from_batches(schema, batches)}


def _bind_cursor(
    incremental: Any, conn: Any, sql: str, columns: list[Column], schema: pa.Schema
) -> None:
    """Check the cursor column's type and, unless it is NOT NULL, that no row has it NULL."""
    folded = {c.name.lower(): c for c in columns}
    column = folded.get(incremental.column.lower())
    if column is not None:
        incremental.column = column.name  # MySQL names are case-insensitive; Arrow's are not
    incremental.bind(schema.field(column.name) if column is not None else None)
    if column is not None and not column.flags & NOT_NULL_FLAG:
        with conn.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")
            try:
                cur.execute(
                    f"SELECT 1 FROM (\n{sql}\n) AS _osiris_nulls"
                    f" WHERE {quote_ident(column.name)} IS NULL LIMIT 1"
                )
                found = cur.fetchall()
            finally:
                cur.execute("COMMIT")
        if found:
            raise incremental.null_error()


def _cursor_condition(incremental: Any) -> str:
    """``col > literal`` (or ``>=``); empty when the run reads everything."""
    if incremental.lower is None:
        return ""
    return f"{quote_ident(incremental.column)} {incremental.op} {_literal(incremental)}"


def _literal(incremental: Any) -> str:
    """The bound as a MySQL literal built from a parsed value (never from user text)."""
    kind, value = incremental.kind, incremental.lower
    if kind == "integer":
        return str(int(value))
    if kind == "decimal":
        return format(value, "f")  # an exact-value literal; 1E-7 would be a DOUBLE
    if kind == "date":
        return f"DATE'{value.isoformat()}'"
    if kind == "timestamptz":  # sessions run at time_zone '+00:00'
        import datetime as dt

        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return f"TIMESTAMP'{value:%Y-%m-%d %H:%M:%S.%f}'"


def _wrapped(
    step_id: str, sql: str, names: list[str], floats: set[str], cursor: tuple[str, str] | None
) -> str:
    """The query inside a derived table: FLOATs as exact doubles, the cursor filter, the order."""
    from osiris_driver_mysql.query_shape import Untranslatable, outer_order_by, shape_of

    try:
        shape = shape_of(sql)
        if cursor is not None and shape.has_limit:
            raise StepError(
                step_id,
                "an incremental query cannot have its own LIMIT: it would pick rows before the"
                " cursor filter.",
                hint="Remove the LIMIT from the query.",
            )
        order = f"ORDER BY {quote_ident(cursor[1])}" if cursor else outer_order_by(
            shape, names, quote_ident
        )  # fmt: skip
    except Untranslatable as exc:
        why = (
            f"FLOAT column(s) {sorted(floats)} can be read exactly only by wrapping the query"
            if floats
            else "an incremental query is wrapped to filter by its cursor"
        )
        raise StepError(
            step_id,
            f"{why}, and its ORDER BY cannot be kept when wrapped: {exc}.",
            hint="Order by output column names or positions, select the FLOATs as `col + 0e0`,"
            " or use 'table:'.",
        ) from None
    select = _select_list(names, floats) if floats else "*"
    wrapped = f"SELECT {select} FROM (\n{sql}\n) AS _osiris_query"
    if cursor is not None and cursor[0]:
        wrapped += f"\nWHERE {cursor[0]}"
    return wrapped + (f"\n{order}" if order else "")


def _select_list(names: list[str], floats: set[str]) -> str:
    """A select list reading FLOAT columns as exact doubles (their text is rounded to 6 digits)."""
    return ", ".join(
        f"{quote_ident(n)} + 0e0 AS {quote_ident(n)}" if n in floats else quote_ident(n)
        for n in names
    )


def _describe(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"{args[1]} (MySQL error {args[0]})"
    return str(exc) or type(exc).__name__


class _Reader:
    """Runs the query on a raw-text connection and converts each fetched block to Arrow."""

    def __init__(
        self, step_id: str, ctx: Any, sql: str, columns: list[Column], schema: pa.Schema,
        batch_size: int,
    ) -> None:  # fmt: skip
        self.step_id, self.ctx, self.sql = step_id, ctx, sql
        self.columns, self.schema, self.batch_size = columns, schema, batch_size
        self.key_columns = [i for i, c in enumerate(columns) if c.primary_key]
        self.limit: int | None = None
        self.converters = [
            column_converter(c, f.type) for c, f in zip(columns, schema, strict=True)
        ]

    def start(self) -> None:
        self.started = time.monotonic()
        self.ctx.log_event("query_start", columns=len(self.columns))
        try:
            self.conn, cursor_class = connect_raw_reader(self.ctx.connection)
            self.cursor = self.conn.cursor(cursor_class)
            self.cursor.execute("START TRANSACTION READ ONLY")
            self.cursor.execute(self.sql)
        except Exception as exc:
            self._close()
            raise StepError(self.step_id, f"the query failed: {_describe(exc)}") from exc

    def _close(self) -> None:
        """Close the connection; rows left unread (a limit, a failure) are dropped with it."""
        conn = getattr(self, "conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        cursor = getattr(self, "cursor", None)
        if cursor is not None:
            # Detach it, or pymysql would try to read the rest of the result from a closed socket.
            with contextlib.suppress(Exception):
                cursor.connection = None
            result = getattr(cursor, "_result", None)
            if getattr(result, "unbuffered_active", False):
                result.unbuffered_active = False

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Fetch on a helper thread while this one converts and the consumer writes.

        Fetching and building the raw Arrow block holds the GIL only part of the time; the casts
        and the consumer's writing mostly release it, so the two overlap. One block waits in the
        queue at most: memory stays bounded by a few batches.
        """
        import pyarrow as pa

        raw_struct = pa.struct([pa.field(f"c{i}", pa.binary()) for i in range(len(self.columns))])
        rows_read = bytes_read = 0
        self.start()  # on the first pull: a stream nobody reads holds no connection
        blocks: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()
        fetcher = threading.Thread(
            target=self._fetch, args=(raw_struct, blocks, stop), name=f"mysql-fetch-{self.step_id}",
            daemon=True,
        )  # fmt: skip
        fetcher.start()
        try:
            while True:
                block = blocks.get()
                if block is _END:
                    fetcher.join()
                    self.cursor.execute("COMMIT")
                    break
                if isinstance(block, BaseException):
                    raise StepError(self.step_id, f"reading failed: {_describe(block)}") from block
                if self.limit is not None and rows_read + len(block) >= self.limit:
                    block = block.slice(0, self.limit - rows_read)
                bytes_read += block.nbytes
                yield self._convert(block, rows_read)
                rows_read += len(block)
                if self.limit is not None and rows_read >= self.limit:
                    break  # closing the connection ends the rest of the result
        finally:
            stop.set()
            fetcher.join()
            self._close()
        self.ctx.log_metric("rows_read", rows_read, "rows")
        self.ctx.log_metric("bytes_read", bytes_read, "bytes")
        self.ctx.log_event(
            "query_complete",
            rows=rows_read,
            duration_ms=round((time.monotonic() - self.started) * 1000, 1),
        )

    def _fetch(self, raw_struct: pa.DataType, blocks: queue.Queue, stop: threading.Event) -> None:
        """Producer: rows from the server-side cursor, as one raw struct array per batch."""
        import pyarrow as pa

        def hand_over(item: Any) -> None:
            while not stop.is_set():
                try:
                    blocks.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        size = first_fetch(self.batch_size)  # then sized by bytes: wide rows make smaller batches
        try:
            while not stop.is_set():
                rows = self.cursor.fetchmany(size)
                if not rows:
                    break
                block = pa.array(rows, type=raw_struct)
                del rows
                size = next_fetch(block, self.batch_size)
                hand_over(block)
                del block
            hand_over(_END)
        except BaseException as exc:  # reported by the consumer side, with the step's name
            hand_over(exc)

    def _convert(self, raw: pa.StructArray, offset: int) -> pa.RecordBatch:
        import pyarrow as pa

        arrays = []
        for i, (convert, field) in enumerate(zip(self.converters, self.schema, strict=True)):
            column = raw.field(i)
            try:
                arrays.append(convert(column))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                bad = first_bad_row(column, field.type)
                where = self._row_key(raw, offset, bad) if bad is not None else "a row"
                value = _text(column[bad].as_py()) if bad is not None else None
                raise StepError(
                    self.step_id,
                    f"column '{field.name}' at {where}: value {value!r} cannot be represented"
                    f" as {field.type} ({exc}).",
                    hint="Convert or filter it in the query.",
                ) from exc
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _row_key(self, raw: pa.StructArray, offset: int, index: int) -> str:
        if not self.key_columns:
            return f"row {offset + index + 1}"
        parts = [
            f"{self.columns[i].name}={_text(raw.field(i)[index].as_py())}" for i in self.key_columns
        ]
        return "row with " + ", ".join(parts)


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


_END = object()
