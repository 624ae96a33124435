"""Whether the rows of a write land in a table that can roll back.

MyISAM, Aria, MEMORY, CSV and other engines without transactions keep every row they are given:
a failed ``append`` leaves part of its rows behind and a failed ``upsert`` merge leaves the table
partly updated. ``replace`` loads a staging table and swaps it in with one ``RENAME TABLE``,
which is atomic on every engine, so it is safe there too.
"""

from __future__ import annotations

from typing import Any

from osiris.errors import StepError

_LOSES = {
    "append": "a failed append would leave part of its rows in the table",
    "upsert": "a failed upsert would leave the table partly merged",
}


def target_engine(cur: Any, schema: str | None, table: str) -> tuple[str, bool] | None:
    """The engine of an existing table and whether it has transactions (None: no such table,
    or a view)."""
    cur.execute(
        "SELECT t.engine, e.transactions FROM information_schema.tables t"
        " LEFT JOIN information_schema.engines e ON e.engine = t.engine"
        " WHERE t.table_schema = COALESCE(%s, DATABASE()) AND t.table_name = %s",
        (schema, table),
    )
    row = cur.fetchone()
    if not row or not row[0]:
        return None
    return str(row[0]), str(row[1] or "").upper() == "YES"


def default_engine(cur: Any) -> tuple[str, bool]:
    """The engine ``CREATE TABLE`` uses here and whether it has transactions."""
    cur.execute(
        "SELECT engine, transactions FROM information_schema.engines"
        " WHERE engine = @@default_storage_engine"
    )
    row = cur.fetchone()
    return (str(row[0]), str(row[1]).upper() == "YES") if row else ("unknown", False)


def refuse_non_transactional(
    step_id: str,
    cur: Any,
    schema: str | None,
    table: str,
    mode: str,
    *,
    exists: bool,
    allowed: bool,
) -> bool:
    """Stop an append or upsert whose rows would go into a table that cannot roll back, before
    anything is written, unless the step sets ``allow_non_transactional: true``.

    True when an allowed append goes into such a table: it must then not use ``LOAD DATA``,
    which under ``LOCAL`` stores a value that does not fit (cut short) before the writer sees
    the warning; an ``INSERT`` refuses that value without storing it, so only whole earlier
    rows can stay behind."""
    if mode not in _LOSES:
        return False
    if exists:
        found = target_engine(cur, schema, table)
        if found is None or found[1]:
            return False
        where = f"table '{table}' is {found[0]}"
        fix = f"Convert it (ALTER TABLE {table} ENGINE=InnoDB)"
    else:
        engine, transactional = default_engine(cur)
        if mode == "upsert" or transactional:  # upsert: the staging table is renamed into place
            return False
        where = f"table '{table}' would be created as {engine} (the server's default engine)"
        fix = "Create it first with ENGINE=InnoDB"
    if allowed:
        return mode == "append"
    raise StepError(
        step_id,
        f"{where}, which has no transactions: {_LOSES[mode]}, so nothing was written.",
        hint=f"{fix}, or set allow_non_transactional: true in the step's config to write anyway,"
        " accepting that a failed run can leave part of the rows.",
    )
