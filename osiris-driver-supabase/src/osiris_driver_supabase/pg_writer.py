"""The postgres transport of supabase.writer: COPY inside one transaction, so failure changes nothing.

append COPYs straight into the target; replace deletes the target's rows and COPYs straight into
it (other sessions keep seeing the old rows until the commit); upsert COPYs into a
``TEMP ... ON COMMIT DROP`` staging table and merges it (``INSERT ... ON CONFLICT DO UPDATE``) in
the same transaction. Nothing needs session state beyond that one transaction, which is what
makes the transaction pooler (port 6543) work too, with prepared statements turned off.

Reading the input and the COPY overlap: this thread pulls batches and encodes them as CSV, a
writer thread sends them, and a bounded queue between them keeps memory flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_supabase import pgbinary
from osiris_driver_supabase.connection import Settings, connect, qualified, quote_ident
from osiris_driver_supabase.encode import to_copy_csv
from osiris_driver_supabase.rounding import Check, refuse_rounded, rounding_checks
from osiris_driver_supabase.types import pg_ddl_type

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

QUEUE_DEPTH = 2
"""Encoded batches waiting for the COPY; bounds memory to a few batches."""


@dataclass(frozen=True)
class Target:
    schema: str
    table: str
    mode: str
    primary_key: Sequence[str]
    create_if_missing: bool
    copy_format: str = "auto"
    """``auto``: binary COPY when every column can be encoded exactly, else CSV; ``csv``: always CSV."""
    verify: str = "count"
    """``count`` or ``checksum`` (osiris.verify.mode_for)."""

    @property
    def name(self) -> str:
        return qualified(self.schema, self.table)


def write_postgres(
    step_id: str, settings: Settings, target: Target, reader: pa.RecordBatchReader, ctx: Any
) -> int:
    """Load ``reader`` into ``target`` in one transaction; return the rows committed.

    Before the commit the load is verified (osiris.verify): the rows COPY wrote, the table's
    count for ``replace``, inserted + updated for ``upsert``; with ``verify: checksum`` also
    every column's checksum over the rows this transaction wrote (``xmin`` is its id)."""
    import psycopg
    from osiris import verify

    columns = list(reader.schema.names)
    checksum = verify.ArrowChecksum(reader.schema) if target.verify == "checksum" else None
    try:
        conn = connect(settings)
    except psycopg.OperationalError as exc:
        raise StepError(
            step_id, f"cannot connect to the Supabase database: {_first_line(exc)}"
        ) from exc
    try:
        with conn.cursor() as cur:
            # Naive timestamps written into timestamptz columns mean UTC, whatever the server's zone.
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            created = _prepare_target(step_id, cur, target, reader.schema)
            if target.mode == "replace" and not created:
                _refuse_cascading_delete(step_id, cur, target)
                # DELETE, not TRUNCATE or a table swap: keeps grants, RLS policies and foreign
                # keys pointing at this table, and blocks no reader. Rows another table still
                # references (NO ACTION / RESTRICT) make it fail, and nothing changes.
                cur.execute(f"DELETE FROM {target.name}")
            staged = target.mode == "upsert" and not created
            copy_into = _staging(cur, target) if staged else target.name
            types, full_types = _column_types(step_id, cur, target, reader.schema)
            binary = pgbinary.plan(reader.schema, types) if target.copy_format == "auto" else None
            ctx.log_event(
                "write_start",
                table=f"{target.schema}.{target.table}",
                mode=target.mode,
                transport="postgres",
                staging=staged,
                copy_format="binary" if binary else "csv",
            )
            checks = rounding_checks(full_types, reader.schema)
            if checksum is not None:
                items = _checksum_columns(checksum, types)
                reader = checksum.wrap(reader)
            rows, copied = _copy(step_id, cur, copy_into, columns, reader, binary, checks)
            where = f"{target.schema}.{target.table}"
            verify.require_count(
                step_id, received=rows, found=copied, target=where, how="COPY wrote"
            )
            if staged:
                merged = _merge(step_id, cur, target, copy_into, columns)
                verify.require_count(
                    step_id, received=rows, found=merged, target=where,
                    how="the merge inserted and updated",
                )  # fmt: skip
            elif target.mode == "replace" or created:
                cur.execute(f"SELECT count(*) FROM {target.name}")
                verify.require_count(
                    step_id, received=rows, found=cur.fetchone()[0], target=where,
                    how="the table now holds",
                )  # fmt: skip
            if checksum is not None:
                _verify_checksum(step_id, cur, target, rows, checksum, items)
            if created and target.primary_key:
                keys = ", ".join(map(quote_ident, target.primary_key))
                cur.execute(f"ALTER TABLE {target.name} ADD PRIMARY KEY ({keys})")
        conn.commit()
        verify.record(
            ctx, rows, mode=target.verify, target=where,
            checked=[c.name for c in checksum.columns] if checksum else None,
            unchecked=checksum.unchecked if checksum else None,
        )  # fmt: skip
    except psycopg.Error as exc:
        conn.rollback()
        raise StepError(step_id, _pg_message(exc, target)) from exc
    except BaseException:
        conn.rollback()
        raise
    finally:
        if checksum is not None:
            checksum.close()
        conn.close()
    return rows


def _checksum_columns(checksum: Any, types: dict[str, str]) -> list[tuple[str, str]]:
    """Each input column's canonical text over the target, as ``checksum_query`` items; a
    column whose target type has no exact text for its data is left out of the check (and
    reported as unchecked)."""
    from osiris.verify.canonical import postgres_text

    items = []
    for column in list(checksum.columns):
        sql, target = quote_ident(column.name), types.get(column.name, "")
        text = postgres_text(column, sql, target)
        if text is None:
            checksum.exclude(
                column.name, f"a {target} column has no canonical text for {column.kind} data"
            )
        else:
            items.append((column.kind, text))
    return items


def _verify_checksum(
    step_id: str,
    cur: psycopg.Cursor,
    target: Target,
    rows: int,
    checksum: Any,
    items: list[tuple[str, str]],
) -> None:
    """The same checksums over the rows this transaction wrote into the target (``xmin`` is its
    id): the rows first, each column only when they differ."""
    from osiris import verify
    from osiris.verify.canonical import checksum_query

    cur.execute("SET LOCAL extra_float_digits = 1")  # the shortest round-trip digits
    ours = "xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text"
    source = f"{target.name} WHERE {ours}"
    cur.execute(checksum_query("postgres", items, source, per_column=False))
    count, total = cur.fetchone()
    where = f"{target.schema}.{target.table}"
    verify.require_count(
        step_id, received=rows, found=count, target=where, how="this load's rows in it number"
    )

    def column_sums() -> dict[str, Any]:
        cur.execute(checksum_query("postgres", items, source, per_column=True))
        found = cur.fetchone()
        return {
            column.name: verify.ColumnSum(int(found[2 * i]), int(found[2 * i + 1] or 0))
            for i, column in enumerate(checksum.columns)
        }

    stored = verify.ColumnSum(int(count), int(total or 0))
    verify.compare(step_id, checksum, stored, column_sums, where)


def _prepare_target(step_id: str, cur: psycopg.Cursor, target: Target, schema: pa.Schema) -> bool:
    """Check (or create) the target; True when it was created in this transaction."""
    cur.execute("SELECT to_regclass(%s)", (target.name,))
    if cur.fetchone()[0] is None:
        if not target.create_if_missing:
            raise StepError(
                step_id,
                f"table {target.schema}.{target.table} does not exist.",
                hint="Create it, or set create_if_missing: true.",
            )
        # The primary key is added after the COPY (_add_primary_key): one bulk index build is
        # cheaper than maintaining the index row by row.
        defs = [
            f"{quote_ident(f.name)} {pg_ddl_type(f)}{'' if f.nullable else ' NOT NULL'}"
            for f in schema
        ]
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(target.schema)}")
        cur.execute(f"CREATE TABLE {target.name} ({', '.join(defs)})")
        return True
    existing = set(_target_columns(cur, target))
    missing = [c for c in schema.names if c not in existing]
    if missing:
        raise StepError(
            step_id,
            f"column(s) {', '.join(repr(c) for c in missing)} are not in {target.schema}.{target.table}.",
            hint="Add them to the table or drop them from the data in a duckdb.processor step.",
        )
    return False


def _refuse_cascading_delete(step_id: str, cur: psycopg.Cursor, target: Target) -> None:
    """Refuse replace when another table's foreign key is ``ON DELETE CASCADE / SET NULL / SET
    DEFAULT``: deleting every row would delete or change that table's rows, even for keys the
    new data brings back, without a word."""
    cur.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
        " AND confrelid = %s::regclass AND conrelid <> confrelid AND confdeltype IN ('c', 'n', 'd')"
        " ORDER BY 1, 2",
        (target.name,),
    )
    if found := cur.fetchone():
        table, constraint = found
        raise StepError(
            step_id,
            f"write_mode replace deletes every row of {target.schema}.{target.table}, and the"
            f" foreign key {constraint} of {table} would then delete or change its rows too;"
            " nothing was changed.",
            hint="Use write_mode upsert, which deletes nothing.",
        )


def _target_columns(cur: psycopg.Cursor, target: Target) -> list[str]:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        (target.name,),
    )
    return [r[0] for r in cur.fetchall()]


def primary_key_of(cur: psycopg.Cursor, target: Target) -> list[str]:
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey, a.attnum)",
        (target.name,),
    )
    return [r[0] for r in cur.fetchall()]


def _staging(cur: psycopg.Cursor, target: Target) -> str:
    """A temp copy of the target's shape, dropped at commit (no session state survives)."""
    name = quote_ident(f"osiris_stage_{target.table}"[:63])
    cur.execute(f"CREATE TEMP TABLE {name} (LIKE {target.name} INCLUDING DEFAULTS) ON COMMIT DROP")
    return name


def _column_types(
    step_id: str, cur: psycopg.Cursor, target: Target, schema: pa.Schema
) -> tuple[dict[str, str], dict[str, str]]:
    """Target column types without and with modifiers (``numeric``, ``numeric(10,2)``); refuses
    decimal columns the target would round (numeric(p,s) too narrow)."""
    import re

    import pyarrow.types as t

    cur.execute(
        "SELECT attname, format_type(atttypid, NULL), format_type(atttypid, atttypmod)"
        " FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (target.name,),
    )
    rows = cur.fetchall()
    for name, _, full in rows:
        m = re.fullmatch(r"numeric\((\d+),(\d+)\)", full)
        field = schema.field(name) if name in schema.names else None
        if m and field is not None and t.is_decimal(field.type) and field.type.scale > int(m[2]):
            raise StepError(
                step_id,
                f"column '{name}' is {full} but the data has {field.type.scale} decimal places;"
                " PostgreSQL would round them.",
                hint="Widen the column or round explicitly in a duckdb.processor step.",
            )
    return {name: base for name, base, _ in rows}, {name: full for name, _, full in rows}


def _copy(
    step_id: str,
    cur: psycopg.Cursor,
    into: str,
    columns: list[str],
    reader: pa.RecordBatchReader,
    binary: Any,
    checks: dict[str, Check],
) -> tuple[int, int]:
    """Stream every batch into ``COPY into FROM STDIN``; the send runs on a writer thread.
    Returns the rows received and the rows COPY reports it wrote."""
    fmt = "binary" if binary else "csv"
    sql = f"COPY {into} ({', '.join(map(quote_ident, columns))}) FROM STDIN (FORMAT {fmt})"
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_DEPTH)
    failure: list[BaseException] = []
    stop = threading.Event()

    def send() -> None:
        ended = False
        try:
            with cur.copy(sql) as copy:
                if binary:
                    copy.write(pgbinary.HEADER)
                while (chunk := chunks.get()) is not None:
                    if stop.is_set():
                        raise _Aborted
                    copy.write(chunk)
                ended = True
                if stop.is_set():
                    raise _Aborted
                if binary:
                    copy.write(pgbinary.TRAILER)
        except BaseException as exc:
            failure.append(exc)
            stop.set()
            while not ended and chunks.get() is not None:  # drain so the producer never blocks
                pass

    sender = threading.Thread(target=send, name=f"copy-{step_id}", daemon=True)
    sender.start()
    rows = 0
    try:
        for batch in reader:
            if stop.is_set():
                break
            if batch.num_rows:
                refuse_nul(step_id, batch, rows + 1)
                refuse_rounded(step_id, batch, checks, rows + 1)
                chunks.put(
                    pgbinary.encode(batch, binary) if binary else to_copy_csv(batch, rows + 1)
                )
                rows += batch.num_rows
    except BaseException:
        stop.set()
        raise
    finally:
        chunks.put(None)
        sender.join()
    if failure and not isinstance(failure[0], _Aborted):
        raise failure[0]
    return rows, cur.rowcount


def refuse_nul(step_id: str, batch: pa.RecordBatch, first_row: int) -> None:
    """Refuse text holding the NUL character, naming the column and input row: MySQL text can
    hold it, PostgreSQL text cannot, and COPY's own error names no column."""
    import pyarrow.compute as pc
    import pyarrow.types as t

    for field, array in zip(batch.schema, batch.columns, strict=True):
        if not (t.is_string(field.type) or t.is_large_string(field.type)):
            continue
        found = pc.fill_null(pc.match_substring(array, "\x00"), False)
        if pc.any(found).as_py():
            row = first_row + pc.index(found, True).as_py()
            raise StepError(
                step_id,
                f"column '{field.name}' input row {row} holds a NUL character (0x00), which"
                " PostgreSQL text cannot store; nothing was changed.",
                hint="Remove it (replace(col, chr(0), '')) or write the column as bytea.",
            )


class _Aborted(Exception):
    """Raised inside the COPY block so psycopg cancels the COPY when the input fails."""


def _merge(
    step_id: str, cur: psycopg.Cursor, target: Target, staging: str, columns: list[str]
) -> int:
    """Upsert the staged rows into the target on its primary key; returns the rows inserted
    plus updated. With only key columns, an existing row is "updated" to itself, so that it
    counts (``DO NOTHING`` would not count it)."""
    cols = ", ".join(map(quote_ident, columns))
    keys = list(target.primary_key) or primary_key_of(cur, target)
    if not keys:
        raise StepError(
            step_id,
            f"upsert into {target.schema}.{target.table} needs primary_key (the table has none).",
        )
    unknown = [k for k in keys if k not in columns]
    if unknown:
        raise StepError(step_id, f"primary_key column(s) {', '.join(unknown)} are not in the data.")
    updates = [c for c in columns if c not in keys] or keys
    action = "DO UPDATE SET " + ", ".join(
        f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in updates
    )
    conflict = ", ".join(map(quote_ident, keys))
    cur.execute(
        f"INSERT INTO {target.name} ({cols}) SELECT {cols} FROM {staging}"
        f" ON CONFLICT ({conflict}) {action}"
    )
    return cur.rowcount


def _pg_message(exc: Exception, target: Target) -> str:
    """One sentence from a PostgreSQL error, naming the column and input row when COPY says so."""
    import re

    diag = getattr(exc, "diag", None)
    primary = (diag.message_primary if diag else None) or _first_line(exc)
    context = (diag.context if diag else None) or ""
    where = ""
    if m := re.search(r"COPY [^,]+, line (\d+)(?:, column ([^:]+))?", context):
        where = f" (input row {m[1]}" + (f", column '{m[2]}'" if m[2] else "") + ")"
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "21000":
        primary = "the input holds the same primary_key value more than once"
    return f"writing {target.schema}.{target.table} failed, nothing was changed: {primary}{where}."


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
