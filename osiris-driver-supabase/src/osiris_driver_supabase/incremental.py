"""``incremental:`` for supabase.extractor, over the database and over REST.

Over the database the step's SELECT (the table read or the query) is wrapped:
``SELECT * FROM (…) AS _osiris_query WHERE cursor > %s ORDER BY cursor``, the bound bound as a
typed parameter. Over REST the bound becomes a PostgREST filter (``cursor=gt.<text>``) and the
order ``cursor.asc`` plus the primary key. Before any row moves, the cursor's type is checked and
a cursor that is NULL anywhere is refused (unless the column is declared NOT NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_supabase.connection import Settings, connect, quote_ident

if TYPE_CHECKING:
    from osiris.state.cursor import IncrementalRead


def refuse_conflicts(step_id: str, config: Mapping[str, Any]) -> None:
    """``limit`` and ``order`` cannot be combined with an incremental read."""
    for key, why in (
        ("limit", "a limit can cut rows that share the last cursor value"),
        ("order", "incremental rows are read in cursor order"),
    ):
        if config.get(key) is not None:
            raise StepError(
                step_id,
                f"'{key}' cannot be combined with 'incremental': {why}.",
                hint=f"Remove '{key}'.",
            )
    query = config.get("query")
    if query:
        from osiris.sqlguard import has_top_level_limit

        if has_top_level_limit(query, dialect="postgres"):
            raise StepError(
                step_id,
                "an incremental query cannot have its own LIMIT, OFFSET or FETCH: it would pick"
                " rows before the cursor filter.",
                hint="Remove it from the query.",
            )


def wrap_pg(
    step_id: str,
    settings: Settings,
    sql: str,
    params: list[Any],
    incremental: IncrementalRead,
    *,
    interval_text: bool,
    table: str | None = None,
) -> tuple[str, list[Any]]:
    """The incremental SQL and parameters, after checking the cursor column on the server.

    ``table`` (a table read: the quoted, qualified name) lets a NOT NULL column skip the scan
    for NULLs.
    """
    import psycopg

    from osiris_driver_supabase.pg_reader import probe_fields

    inner = f"(\n{sql}\n) AS _osiris_query"
    try:
        conn = connect(settings)
    except psycopg.OperationalError as exc:
        raise StepError(step_id, f"cannot connect to the Supabase database: {exc}".strip()) from exc
    try:
        fields = probe_fields(conn, settings, sql, params, interval_text=interval_text)
        by_name = {f.name: f for f in fields}
        incremental.bind(by_name.get(incremental.column))
        column = quote_ident(incremental.column)
        declared = table is not None and conn.execute(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s",
            (table, incremental.column),
        ).fetchone() == (True,)
        nulls = (
            not declared
            and conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {inner} WHERE {column} IS NULL)", params or None
            ).fetchone()[0]
        )
        conn.rollback()
    except psycopg.Error as exc:
        raise StepError(step_id, f"the query failed: {str(exc).strip().splitlines()[0]}") from exc
    finally:
        conn.close()
    if nulls:
        raise incremental.null_error()
    wrapped, args = f"SELECT * FROM {inner}", list(params)
    if incremental.lower is not None:
        if not params:  # the first parameter makes every % in the query special
            wrapped = "SELECT * FROM (\n" + sql.replace("%", "%%") + "\n) AS _osiris_query"
        wrapped += f" WHERE {column} {incremental.op} %s"
        args.append(incremental.lower)
    return wrapped + f" ORDER BY {column}", args


def rest_filter(incremental: IncrementalRead) -> str | None:
    """The PostgREST condition for the bound (``gt.<text>``), or None to read everything."""
    bound = incremental.bound
    if bound is None:
        return None
    return f"{'gte' if incremental.op == '>=' else 'gt'}.{bound.value}"
