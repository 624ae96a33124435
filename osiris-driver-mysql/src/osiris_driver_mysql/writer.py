"""mysql.writer: append, replace or upsert Arrow batches without ever losing data.

- append: every batch goes into the target inside one transaction, committed at the end.
- replace: batches load a staging table that is swapped in with one atomic ``RENAME TABLE``.
- upsert: batches load a staging table, merged by ``INSERT … SELECT … ON DUPLICATE KEY UPDATE``
  in one transaction.
A failure at any batch rolls back or drops the staging table, so the target is as it was.

Before the commit (or the rename) the load is verified (osiris.verify): append sums the rows
``LOAD DATA`` reports it inserted; replace and upsert count the staging table, and upsert counts
the staged keys found in the target after the merge. ``verify: checksum`` also compares every
column's checksum: over the staging table (replace), over the target rows joined to the staged
keys (upsert), or as the target's checksum after minus before the load, read in one consistent
snapshot (append).

Bulk path: each batch is rendered as ``LOAD DATA`` text with vectorised Arrow casts and sent with
``LOAD DATA LOCAL INFILE`` (needs ``local_infile`` on the server). The server turns bad values
into warnings under ``LOCAL``, so every warning is treated as an error. Without ``local_infile``,
multi-row parameterised ``INSERT``s are used. Values never enter SQL text.
"""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_mysql.connect import connect_pymysql, quote_ident, validate_table_name
from osiris_driver_mysql.engine import refuse_non_transactional
from osiris_driver_mysql.fits import TargetColumn, check_fits
from osiris_driver_mysql.types import (
    CellError,
    intervals_as_durations,
    load_data_block,
    mysql_column_type,
)

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_BATCH_SIZE = 50_000
MODES = ("append", "replace", "upsert")


def _qualified(schema: str | None, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}" if schema else quote_ident(table)


class MySQLWriter:
    """Driver for ``mysql.writer``."""

    def run(self, *, step_id: str, config: dict, inputs: dict, ctx: Any) -> dict:
        if not ctx.connection:
            raise StepError(step_id, "no connection; set 'connection: \"@mysql.<alias>\"'.")
        if len(inputs) != 1:
            raise StepError(step_id, f"expects exactly one input, got {len(inputs)}.")
        mode = config.get("mode", "append")
        if mode not in MODES:
            raise StepError(step_id, f"mode '{mode}' is not one of {', '.join(MODES)}.")
        table = str(config.get("table") or "")
        try:
            schema, name = validate_table_name(table)
        except ValueError as exc:
            raise StepError(step_id, f"{exc}.") from exc
        keys = config.get("primary_key") or config.get("upsert_keys") or []
        keys = [keys] if isinstance(keys, str) else list(keys)
        if mode == "upsert" and not keys:
            raise StepError(step_id, "mode 'upsert' needs 'primary_key' (the columns to match on).")
        data = next(iter(inputs.values()))
        from osiris import verify

        job = _Job(step_id, ctx, schema, name, mode, keys, config)
        job.verify = verify.mode_for(step_id, config, ctx)
        reader = data.reader()
        try:
            return job.write(reader)
        finally:
            reader.close()  # on failure, lets the upstream stream release its connection now


class _Job:
    def __init__(
        self, step_id: str, ctx: Any, schema: str | None, table: str, mode: str,
        keys: list[str], config: Mapping[str, Any],
    ) -> None:  # fmt: skip
        self.step_id, self.ctx, self.mode, self.keys = step_id, ctx, mode, keys
        self.schema, self.table = schema, table
        self.target = _qualified(schema, table)
        self.create = bool(config.get("create_table", False))
        self.allow_non_transactional = bool(config.get("allow_non_transactional", False))
        self.batch_size = int(config.get("batch_size") or DEFAULT_BATCH_SIZE)
        self.staging_name = f"_osiris_stg_{table[:40]}_{secrets.token_hex(4)}"
        self.staging = _qualified(schema, self.staging_name)
        self.verify = "count"
        self.loaded = 0
        """Rows the server reported inserted, summed over the batches."""
        self.checksum: Any = None
        self.expressions: dict[str, str] = {}

    def fail(self, message: str, hint: str | None = None) -> StepError:
        return StepError(self.step_id, message, hint=hint)

    # --- helpers -------------------------------------------------------------------------

    def _target_columns(self, cur: Any) -> list[str] | None:
        cur.execute(
            "SELECT column_name, data_type, numeric_scale, datetime_precision"
            " FROM information_schema.columns WHERE table_schema ="
            " COALESCE(%s, DATABASE()) AND table_name = %s ORDER BY ordinal_position",
            (self.schema, self.table),
        )
        rows = cur.fetchall()
        self.bit_columns = {name for name, data_type, _, _ in rows if data_type == "bit"}
        self.target_types = {
            name: TargetColumn(str(data_type).lower(), scale, fsp)
            for name, data_type, scale, fsp in rows
        }
        return [name for name, *_ in rows] or None

    def _create_sql(self, table_sql: str, arrow_schema: pa.Schema) -> str:
        missing = [k for k in self.keys if k not in arrow_schema.names]
        if missing:
            raise self.fail(f"primary_key column(s) {missing} are not in the input.")
        try:
            columns = [
                f"{quote_ident(f.name)} {mysql_column_type(f, key=f.name in self.keys)}"
                + (" NOT NULL" if f.name in self.keys else "")
                for f in arrow_schema
            ]
        except ValueError as exc:
            raise self.fail(f"cannot create the table: {exc}.") from exc
        if self.keys:
            columns.append("PRIMARY KEY (" + ", ".join(quote_ident(k) for k in self.keys) + ")")
        return f"CREATE TABLE {table_sql} ({', '.join(columns)}) DEFAULT CHARSET=utf8mb4"

    def _check_keys_in_input(self, names: list[str]) -> None:
        """Upsert matches on the keys: without them in the input every row would be inserted."""
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise self.fail(f"upsert key column(s) {missing} are not in the input.")

    def _check_unique_key(self, cur: Any) -> None:
        cur.execute(
            "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR '\\0')"
            " FROM information_schema.statistics WHERE table_schema = COALESCE(%s, DATABASE())"
            " AND table_name = %s AND non_unique = 0 GROUP BY index_name",
            (self.schema, self.table),
        )
        unique = [set(cols.split("\0")) for _, cols in cur.fetchall()]
        if set(self.keys) not in unique:
            raise self.fail(
                f"upsert keys {self.keys} are not the primary key or a unique key of"
                f" '{self.table}'.",
                hint="Add a PRIMARY KEY or UNIQUE index on exactly those columns.",
            )

    # --- the write -----------------------------------------------------------------------

    def write(self, reader: pa.RecordBatchReader) -> dict:
        arrow_schema = reader.schema
        try:
            conn = connect_pymysql(self.ctx.connection, local_infile=True)
        except Exception as exc:
            raise self.fail(f"cannot connect: {_describe(exc)}") from exc
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
                self.bulk = bulk_load_available(cur)
                columns = self._prepare(cur, arrow_schema)
                if self.verify == "checksum":
                    reader = self._start_checksum(cur, reader)
                written = self._load_all(conn, cur, reader, columns)
        except StepError:
            raise
        except Exception as exc:
            raise self.fail(f"writing '{self.table}' failed: {_describe(exc)}") from exc
        finally:
            if self.checksum is not None:
                self.checksum.close()
            conn.close()
        from osiris import verify

        checksum = self.checksum
        verify.record(
            self.ctx, written, mode=self.verify, target=self.table,
            checked=[c.name for c in checksum.columns] if checksum else None,
            unchecked=checksum.unchecked if checksum else None,
        )  # fmt: skip
        self.ctx.log_metric("rows_written", written, "rows")
        self.ctx.log_event("write_complete", table=self.table, mode=self.mode, rows=written)
        return {}

    def _prepare(self, cur: Any, arrow_schema: pa.Schema) -> list[str]:
        """Check or create the target; create the staging table for replace/upsert."""
        existing = self._target_columns(cur)
        if (existing is not None or self.create) and refuse_non_transactional(
            self.step_id, cur, self.schema, self.table, self.mode,
            exists=existing is not None, allowed=self.allow_non_transactional,
        ):  # fmt: skip
            self.bulk = False  # rows INSERTed: a value that does not fit is never stored cut
        names = arrow_schema.names
        if len(set(names)) != len(names):
            raise self.fail(f"the input has duplicate column names {names}.")
        for field in arrow_schema:  # lists, structs, maps: no MySQL column holds them as such
            try:
                mysql_column_type(field)
            except ValueError as exc:
                raise self.fail(f"cannot write {exc}.", hint="Cast or serialise it first.") from exc
        if existing is None:
            if not self.create:
                raise self.fail(
                    f"table '{self.table}' does not exist.",
                    hint="Create it, or set 'create_table: true' to create it from the input.",
                )
            if self.mode == "append":
                cur.execute(self._create_sql(self.target, arrow_schema))
        else:
            unknown = [n for n in names if n not in existing]
            if unknown:
                raise self.fail(
                    f"column(s) {unknown} of the input are not in table '{self.table}'",
                    hint=f"Its columns are {existing}.",
                )
            if self.mode == "upsert":
                self._check_keys_in_input(names)
                self._check_unique_key(cur)
        if self.mode in ("replace", "upsert"):
            if existing is None:
                cur.execute(self._create_sql(self.staging, arrow_schema))
            else:
                cur.execute(f"CREATE TABLE {self.staging} LIKE {self.target}")
        self.target_exists = existing is not None
        return names

    def _load_all(
        self, conn: Any, cur: Any, reader: pa.RecordBatchReader, columns: list[str]
    ) -> int:
        into = self.target if self.mode == "append" else self.staging
        written = 0
        before = None
        try:
            if self.mode == "append":
                # one snapshot for the whole load: the checksum before and after reads it
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                if self.checksum is not None:
                    before = self._row_sum(cur, f"{self.target} AS t")
            for batch in _rebatch(reader, self.batch_size):
                if batch.num_rows:
                    self._load_batch(cur, into, batch, columns, written)
                    written += batch.num_rows
            self._verify_load(cur, written, before)
            self._finish(cur, columns, written)
        except BaseException:
            try:
                cur.execute("ROLLBACK")
                if self.mode != "append":
                    cur.execute(f"DROP TABLE IF EXISTS {self.staging}")
            except Exception:  # the original failure is the one to report
                pass
            raise
        return written

    # --- verification (osiris.verify) ----------------------------------------------------

    def _start_checksum(self, cur: Any, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """Checksum the input as it streams; columns the loaded table cannot print exactly for
        their data are left out (and reported)."""
        from osiris import verify
        from osiris.verify.canonical import mysql_text

        self.checksum = verify.ArrowChecksum(reader.schema)
        types = self._types_of(cur, self.table if self.mode == "append" else self.staging_name)
        for column in list(self.checksum.columns):
            target_type = types.get(column.name, "")
            text = mysql_text(column, f"t.{quote_ident(column.name)}", target_type)
            if text is None:
                self.checksum.exclude(
                    column.name,
                    f"a {target_type} column has no canonical text for {column.kind} data",
                )
            else:
                self.expressions[column.name] = text
        return self.checksum.wrap(reader)

    def _types_of(self, cur: Any, table: str) -> dict[str, str]:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
            " COALESCE(%s, DATABASE()) AND table_name = %s",
            (self.schema, table),
        )
        return {name: str(data_type) for name, data_type in cur.fetchall()}

    def _row_sum(self, cur: Any, source: str) -> Any:
        """(rows, sum of row hashes) of ``source``: one MD5 per row (osiris.verify)."""
        from osiris.verify import ColumnSum
        from osiris.verify.canonical import checksum_sql, row_text

        row = row_text("mysql", list(self.expressions.values()))
        cur.execute(f"SELECT COUNT(*), {checksum_sql('mysql', row)} FROM {source}")
        count, total = cur.fetchone()
        return ColumnSum(int(count), int(total or 0))

    def _column_sums(self, cur: Any, source: str) -> dict[str, Any]:
        """Each column's checksum over ``source``: one MD5 per value, so only to name the
        column once the rows are known to differ."""
        from osiris.verify import ColumnSum
        from osiris.verify.canonical import checksum_sql

        select = []
        for name, text in self.expressions.items():
            select += [f"COUNT(t.{quote_ident(name)})", checksum_sql("mysql", text)]
        cur.execute(f"SELECT {', '.join(select) or '1'} FROM {source}")
        row = cur.fetchone()
        return {
            name: ColumnSum(int(row[2 * i]), int(row[2 * i + 1] or 0))
            for i, name in enumerate(self.expressions)
        }

    def _committed_column_sums(self) -> dict[str, Any]:
        """The target's column checksums as committed (before this uncommitted load), read on a
        second connection: what the append's after-minus-before needs to name a column."""
        conn = connect_pymysql(self.ctx.connection)
        try:
            with conn.cursor() as cur:
                return self._column_sums(cur, f"{self.target} AS t")
        finally:
            conn.close()

    def _verify_load(self, cur: Any, written: int, before: Any) -> None:
        """Reconcile what the target holds from this load with the rows received (still
        uncommitted, the staging table not yet swapped in)."""
        from osiris import verify

        check = functools.partial(verify.require_count, self.step_id, target=self.table)
        if self.mode == "append":
            check(received=written, found=self.loaded, how="the server inserted")
            if before is not None:
                after = self._row_sum(cur, f"{self.target} AS t")
                grown = verify.ColumnSum(after.count - before.count, after.total - before.total)
                check(received=written, found=grown.count, how="the table grew by")

                def delta() -> dict[str, Any]:
                    old = self._committed_column_sums()
                    new = self._column_sums(cur, f"{self.target} AS t")
                    return {
                        n: verify.ColumnSum(s.count - old[n].count, s.total - old[n].total)
                        for n, s in new.items()
                    }

                verify.compare(self.step_id, self.checksum, grown, delta, self.table)
            return
        cur.execute(f"SELECT COUNT(*) FROM {self.staging}")
        check(received=written, found=cur.fetchone()[0], how="the staging table holds")
        if self.checksum is not None and not (self.mode == "upsert" and self.target_exists):
            source = f"{self.staging} AS t"
            verify.compare(
                self.step_id, self.checksum, self._row_sum(cur, source),
                lambda: self._column_sums(cur, source), self.table,
            )  # fmt: skip

    def _verify_merge(self, cur: Any, written: int) -> None:
        """After the merge, inside its transaction: every staged key is in the target, and with
        a checksum those target rows hold the values received."""
        from osiris import verify

        join = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in self.keys)
        source = f"{self.target} AS t JOIN {self.staging} AS s ON {join}"
        rows = self._row_sum(cur, source)
        verify.require_count(
            self.step_id, received=written, found=rows.count, target=self.table,
            how="the keys of this load found in the table after the merge number",
        )  # fmt: skip
        if self.checksum is not None:
            verify.compare(
                self.step_id, self.checksum, rows, lambda: self._column_sums(cur, source),
                self.table,
            )  # fmt: skip

    def _finish(self, cur: Any, columns: list[str], written: int) -> None:
        if self.mode == "append":
            cur.execute("COMMIT")
        elif self.mode == "replace":
            if self.target_exists:
                old = _qualified(
                    self.schema, f"_osiris_old_{self.table[:40]}_{secrets.token_hex(4)}"
                )
                cur.execute(f"RENAME TABLE {self.target} TO {old}, {self.staging} TO {self.target}")
                cur.execute(f"DROP TABLE {old}")
            else:
                cur.execute(f"RENAME TABLE {self.staging} TO {self.target}")
        elif not self.target_exists:  # upsert into a new table: nothing to merge with
            cur.execute(f"RENAME TABLE {self.staging} TO {self.target}")
        else:
            cols = ", ".join(quote_ident(c) for c in columns)
            updates = ", ".join(
                f"{quote_ident(c)} = VALUES({quote_ident(c)})"
                for c in columns
                if c not in self.keys
            ) or ", ".join(f"{quote_ident(k)} = {quote_ident(k)}" for k in self.keys)
            cur.execute("START TRANSACTION")
            cur.execute(
                f"INSERT INTO {self.target} ({cols}) SELECT {cols} FROM {self.staging}"
                f" ON DUPLICATE KEY UPDATE {updates}"
            )
            self._verify_merge(cur, written)
            cur.execute("COMMIT")
            cur.execute(f"DROP TABLE {self.staging}")

    def _load_batch(
        self, cur: Any, into: str, batch: pa.RecordBatch, columns: list[str], offset: int
    ) -> None:
        try:
            batch = intervals_as_durations(batch)
            check_fits(batch, self.target_types)
        except CellError as exc:
            raise self._cell_error(batch, exc.column, exc.row, offset, exc.problem) from exc
        if not self.bulk:
            self._insert_batch(cur, into, batch, columns, offset)
            return
        try:
            block = load_data_block(batch)
        except CellError as exc:
            raise self._cell_error(batch, exc.column, exc.row, offset, exc.problem) from exc
        fd, path = tempfile.mkstemp(prefix="osiris_mysql_", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(block)
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {into} CHARACTER SET utf8mb4"
                " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
                f" LINES TERMINATED BY '\\n' {self._load_columns(columns)}",
                (path,),
            )
            self.loaded += cur.rowcount
        finally:
            os.unlink(path)
        cur.execute("SHOW WARNINGS")
        for warning in cur.fetchall():
            if warning[0] != "Note":
                raise self._warning_error(batch, warning, offset)

    def _load_columns(self, columns: list[str]) -> str:
        """The LOAD DATA column list; BIT columns go through a variable (their text is a number)."""
        targets, sets = [], []
        for i, name in enumerate(columns):
            if name in self.bit_columns:
                targets.append(f"@v{i}")
                sets.append(f"{quote_ident(name)} = CAST(@v{i} AS UNSIGNED)")
            else:
                targets.append(quote_ident(name))
        return f"({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else "")

    def _warning_error(self, batch: pa.RecordBatch, warning: tuple, offset: int) -> StepError:
        """Name the column and row from a warning such as "... column 'x' at row 3"."""
        import re

        _, code, message = warning
        # "column 'x' at row 3" or, qualified, "column `db`.`t`.`x` at row 3": the last name.
        found = re.search(r"column (?:`[^`]*`\.)*[`']?([^`']+)[`']? at row (\d+)", message)
        if found:
            return self._cell_error(
                batch, found.group(1), int(found.group(2)) - 1, offset,
                f"was rejected by MySQL: {message} (code {code})",
            )  # fmt: skip
        return self.fail(f"MySQL rejected a value: {message} (code {code}); nothing was written.")

    def _cell_error(
        self, batch: pa.RecordBatch, column: str, row: int, offset: int, problem: str
    ) -> StepError:
        where = f"row {offset + row + 1}"
        if self.keys and 0 <= row < batch.num_rows:
            parts = [
                f"{k}={batch.column(k)[row].as_py()!r}"
                for k in self.keys
                if k in batch.schema.names
            ]
            if parts:
                where = "row with " + ", ".join(parts)
        return self.fail(
            f"column '{column}' at {where} {problem}; nothing was written to '{self.table}'."
        )

    def _insert_batch(
        self, cur: Any, into: str, batch: pa.RecordBatch, columns: list[str], offset: int
    ) -> None:
        """Fallback without local_infile: multi-row parameterised INSERTs."""
        from osiris_driver_mysql.types import python_for_insert

        cols = ", ".join(quote_ident(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        try:
            rows = python_for_insert(batch)
        except CellError as exc:
            raise self._cell_error(batch, exc.column, exc.row, offset, exc.problem) from exc
        cur.executemany(f"INSERT INTO {into} ({cols}) VALUES ({marks})", rows)
        self.loaded += cur.rowcount


def bulk_load_available(cur: Any) -> bool:
    """Whether the server accepts ``LOAD DATA LOCAL INFILE`` (``local_infile=ON``)."""
    cur.execute("SHOW VARIABLES LIKE 'local_infile'")
    row = cur.fetchone()
    return bool(row) and str(row[1]).upper() in ("ON", "1")


def _rebatch(reader: pa.RecordBatchReader, size: int):
    """Batches of at most ``size`` rows (upstream batches may be larger)."""
    for batch in reader:
        for start in range(0, batch.num_rows, size):
            yield batch.slice(start, size)


def _describe(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"{args[1]} (MySQL error {args[0]})"
    return str(exc) or type(exc).__name__
