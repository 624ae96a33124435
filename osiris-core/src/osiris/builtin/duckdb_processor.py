"""``duckdb.processor``: SQL over the step's inputs, streamed in and out as Arrow.

Each input is registered as a DuckDB view over its Arrow stream (never copied into pandas);
the result is handed on as a RecordBatchReader pulled from DuckDB batch by batch, with the
connection kept alive until the consumer has read it all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

if TYPE_CHECKING:
    import pyarrow as pa

    from osiris.context import StepContext
    from osiris.stepdata import StepData

ROWS_PER_BATCH = 65_536
_UNKNOWN_TABLE = re.compile(r"Table with name (\S+) does not exist", re.I)


class DuckDBProcessor:
    """Runs ``config.query``; inputs are ``df_<step_id>`` and, with one input, ``input_df``."""

    def run(
        self,
        *,
        step_id: str,
        config: dict,
        inputs: dict[str, StepData],
        ctx: StepContext,
    ) -> dict:
        import duckdb

        query = config["query"]
        # No replacement scans: only the registered inputs are tables, never Python variables.
        con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
        con.execute("SET TimeZone = 'UTC'")  # tz-aware results come out as UTC, not local time
        try:
            names = self._register(con, inputs, query)
            try:
                relation = con.sql(query)
                if relation is None:
                    raise StepError(step_id, "the query is not a SELECT: it returned no rows.")
                # duckdb >= 2 names it to_arrow_reader; 1.x fetch_arrow_reader
                fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
                reader = fetch(ROWS_PER_BATCH)
            except duckdb.Error as exc:
                raise _sql_error(step_id, exc, names) from exc
        except BaseException:
            con.close()
            raise
        return {"df": _owned_stream(step_id, con, reader, ctx)}

    @staticmethod
    def _register(con: Any, inputs: dict[str, StepData], query: str) -> list[str]:
        """Inputs become views over their streams. A stream can be scanned once, so an input
        the query names more than once (a self-join) is first loaded into a DuckDB table."""
        names = sorted(inputs)
        for name in names:
            con.register(name, inputs[name].reader())
            mentions = _mentions(query, name) + (
                _mentions(query, "input_df") if len(names) == 1 else 0
            )
            if mentions > 1:
                con.execute(f'ALTER VIEW "{name}" RENAME TO "{name}__stream"')
                con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}__stream"')
        if len(names) == 1:
            con.execute(f'CREATE VIEW input_df AS SELECT * FROM "{names[0]}"')
            names.append("input_df")
        return names


def _owned_stream(
    step_id: str, con: Any, reader: pa.RecordBatchReader, ctx: StepContext
) -> pa.RecordBatchReader:
    """Re-wrap DuckDB's reader so the connection lives until the stream is exhausted or closed,
    and a failure while streaming still names the step."""
    import duckdb
    import pyarrow as pa

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in reader:
                rows += batch.num_rows
                yield batch
        except (duckdb.Error, pa.ArrowInvalid) as exc:
            raise StepError(step_id, f"DuckDB failed while producing rows: {exc}") from exc
        finally:
            con.close()
        ctx.log_metric("rows_out", rows, "rows")

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _mentions(query: str, name: str) -> int:
    return len(re.findall(rf"(?<![\w.]){re.escape(name)}(?!\w)", query, re.I))


def _sql_error(step_id: str, exc: Exception, names: list[str]) -> StepError:
    message = str(exc).strip()
    available = ", ".join(names) or "none (this step has no inputs)"
    if _UNKNOWN_TABLE.search(message):
        table = _UNKNOWN_TABLE.search(message).group(1)
        return StepError(
            step_id,
            f"the query uses table {table}, which is not an input of this step; the inputs are:"
            f" {available}.",
            hint="Add the producing step to needs: or fix the table name.",
        )
    first_line = message.splitlines()[0] if message else type(exc).__name__
    return StepError(step_id, f"DuckDB rejected the query: {first_line}")
