"""supabase.writer: picks the transport and hands the input stream to it."""

from __future__ import annotations

from typing import Any

from osiris.errors import StepError

from osiris_driver_supabase.connection import rest_client, settings_from
from osiris_driver_supabase.pg_writer import Target, write_postgres


class SupabaseWriter:
    """Writes one input into a Supabase table through Postgres COPY or the REST API."""

    def run(self, *, step_id: str, config: dict, inputs: dict, ctx: Any) -> dict:
        settings = settings_from(ctx.connection, step=step_id)
        if len(inputs) != 1:
            raise StepError(step_id, f"supabase.writer needs exactly one input, got {len(inputs)}.")
        reader = next(iter(inputs.values())).reader()
        names = reader.schema.names
        if len(set(names)) != len(names):  # a JSON row keeps one of them, COPY refuses both
            twice = sorted({n for n in names if names.count(n) > 1})
            raise StepError(
                step_id,
                f"the input has duplicate column names {twice}.",
                hint="Give them distinct names (AS in the SQL of the step before).",
            )
        from osiris import verify

        keys = config.get("primary_key") or []
        target = Target(
            verify=verify.mode_for(step_id, config, ctx),
            schema=config.get("schema") or settings.schema,
            table=config["table"],
            mode=config.get("write_mode", "append"),
            primary_key=[keys] if isinstance(keys, str) else list(keys),
            create_if_missing=bool(config.get("create_if_missing", False)),
            copy_format=config.get("copy_format", "auto"),
        )
        transport = config.get("transport", "auto")
        if transport == "auto":
            transport = "postgres" if settings.dsn else "rest"
        if transport == "postgres" and not settings.dsn:
            raise StepError(
                step_id, "transport: postgres needs db_url (or pg_dsn) in the connection."
            )
        if transport == "rest":
            if target.verify == "checksum":  # checked before anything is written
                raise StepError(
                    step_id,
                    "verify: checksum needs transport: postgres (the checksum runs in SQL inside"
                    " the load's transaction; the REST API offers neither); nothing was written.",
                    hint="Give the connection a db_url, or verify by count (the default) over REST.",
                )
            if not (settings.rest_url and settings.key):
                raise StepError(
                    step_id, "transport: rest needs url (or project_id) and key in the connection."
                )
            from osiris_driver_supabase.rest_writer import RestWriter

            if target.create_if_missing:
                ctx.log_event(
                    "create_if_missing_ignored", reason="the REST API cannot create tables"
                )
            with rest_client(settings, target.schema) as client:
                writer = RestWriter(
                    step_id,
                    client,
                    target,
                    batch_size=int(config.get("batch_size") or 1000),
                    retries=int(config.get("retries", 4)),
                    backoff_s=float(config.get("retry_backoff_s", 0.5)),
                )
                ctx.log_event(
                    "write_start",
                    table=f"{target.schema}.{target.table}",
                    mode=target.mode,
                    transport="rest",
                )
                try:
                    rows = writer.write(reader)
                finally:
                    ctx.log_metric("rows_written", writer.committed, "rows")
                verify.record(
                    ctx, writer.verified, mode="count", target=f"{target.schema}.{target.table}"
                )
        else:
            rows = write_postgres(step_id, settings, target, reader, ctx)
            ctx.log_metric("rows_written", rows, "rows")
        ctx.log_event(
            "write_complete",
            table=f"{target.schema}.{target.table}",
            rows=rows,
            transport=transport,
        )
        return {}
