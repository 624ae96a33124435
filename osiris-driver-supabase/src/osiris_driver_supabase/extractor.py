"""supabase.extractor: a table over REST or the database, or a read-only query over the database."""

from __future__ import annotations

from typing import Any

from osiris.errors import StepError

from osiris_driver_supabase.connection import settings_from


class SupabaseExtractor:
    """Returns a lazily streamed ``RecordBatchReader``."""

    def run(self, *, step_id: str, config: dict, inputs: dict, ctx: Any) -> dict:
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
            return {
                "df": open_query(
                    step_id,
                    settings,
                    config["query"],
                    [],
                    batch_size,
                    ctx,
                    interval_text=interval_text,
                )
            }
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
            sql, params = table_sql(
                step_id,
                config.get("schema") or settings.schema,
                config["table"],
                config.get("select") or "*",
                config.get("filter") or {},
                config.get("order"),
                config.get("limit"),
            )
            return {
                "df": open_query(
                    step_id, settings, sql, params, batch_size, ctx, interval_text=interval_text
                )
            }
        if not (settings.rest_url and settings.key):
            raise StepError(
                step_id, "transport: rest needs url (or project_id) and key in the connection."
            )
        from osiris_driver_supabase.rest_reader import open_rest

        return {"df": open_rest(step_id, settings, config, ctx)}
