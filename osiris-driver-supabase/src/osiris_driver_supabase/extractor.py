"""supabase.extractor: a table over REST or the database, or a read-only query over the database.

With ``incremental:`` every form reads only rows past the stored mark, in cursor order
(``incremental.py``), and reports the new mark when its stream ends.
"""

from __future__ import annotations

from typing import Any

from osiris.errors import StepError

from osiris_driver_supabase.connection import settings_from


class SupabaseExtractor:
    """Returns a lazily streamed ``RecordBatchReader``."""

    def run(self, *, step_id: str, config: dict, inputs: dict, ctx: Any) -> dict:
        from osiris.state.cursor import incremental_of

        incremental = incremental_of(step_id, config, ctx)
        if incremental is not None:
            from osiris_driver_supabase.incremental import refuse_conflicts

            refuse_conflicts(step_id, config)
        reader = self._open(step_id, config, ctx, incremental)
        if incremental is None:
            return {"df": reader}
        import pyarrow as pa

        incremental.start_event(ctx)
        return {
            "df": pa.RecordBatchReader.from_batches(
                reader.schema, incremental.track(iter(reader), ctx)
            )
        }

    def _open(self, step_id: str, config: dict, ctx: Any, incremental: Any) -> Any:
        from osiris_driver_supabase.pg_reader import open_query, table_sql

        settings = settings_from(ctx.connection, step=step_id)
        batch_size = int(config.get("batch_size") or 10_000)
        interval_text = config.get("interval_as", "month_day_nano") == "text"
        if config.get("query"):
            from osiris.sqlguard import read_only_problem

            if problem := read_only_problem(config["query"], dialect="postgres"):
                raise StepError(step_id, f"config.query: {problem}")
            if not settings.dsn:
                raise StepError(
                    step_id,
                    "query needs db_url (or pg_dsn) in the supabase connection.",
                    hint="Without a database URL, read a table with table/select/filter.",
                )
            sql, params = config["query"], []
            if incremental is not None:
                sql, params = _incremental_sql(step_id, settings, sql, params, incremental,
                                               interval_text, None)  # fmt: skip
            return open_query(
                step_id, settings, sql, params, batch_size, ctx, interval_text=interval_text
            )
        if not config.get("table"):
            raise StepError(step_id, "supabase.extractor needs table or query.")
        transport = config.get("transport", "auto")
        if transport == "auto":
            transport = "postgres" if settings.dsn else "rest"
        if transport == "postgres":
            if not settings.dsn:
                raise StepError(
                    step_id, "transport: postgres needs db_url (or pg_dsn) in the connection."
                )
            schema = config.get("schema") or settings.schema
            sql, params = table_sql(
                step_id,
                schema,
                config["table"],
                config.get("select") or "*",
                config.get("filter") or {},
                config.get("order"),
                config.get("limit"),
            )
            if incremental is not None:
                from osiris_driver_supabase.connection import qualified

                sql, params = _incremental_sql(step_id, settings, sql, params, incremental,
                                               interval_text, qualified(schema, config["table"]))  # fmt: skip
            return open_query(
                step_id, settings, sql, params, batch_size, ctx, interval_text=interval_text
            )
        if not (settings.rest_url and settings.key):
            raise StepError(
                step_id, "transport: rest needs url (or project_id) and key in the connection."
            )
        from osiris_driver_supabase.rest_reader import open_rest

        return open_rest(step_id, settings, config, ctx, incremental=incremental)


def _incremental_sql(
    step_id: str, settings: Any, sql: str, params: list, incremental: Any, interval_text: bool,
    table: str | None,
) -> tuple[str, list]:  # fmt: skip
    """Wrap the SELECT with the cursor filter and order; the guard checks the result again."""
    from osiris.sqlguard import read_only_problem

    from osiris_driver_supabase.incremental import wrap_pg

    wrapped, args = wrap_pg(
        step_id, settings, sql, params, incremental, interval_text=interval_text, table=table
    )
    if problem := read_only_problem(wrapped, dialect="postgres"):
        raise StepError(step_id, f"config.query: {problem}")
    return wrapped, args
