"""``duckdb.processor``: SQL over the step's inputs, streamed in and out as Arrow.

Each input is registered as a DuckDB view over its Arrow stream (never copied into pandas);
the result is handed on as a RecordBatchReader pulled from DuckDB batch by batch, with the
connection kept alive until the consumer has read it all.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
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
        # large sorts/aggregations spill here rather than into ./.tmp of the user's cwd
        spill_dir = tempfile.mkdtemp(prefix="osiris-duckdb-")
        con.execute("SET temp_directory = '{}'".format(spill_dir.replace("'", "''")))
        failures: list[BaseException] = []
        try:
            try:
                _refuse_unreadable(step_id, inputs)
                self._register(step_id, con, inputs, query, failures)
                relation = con.sql(query)
                if relation is None:
                    raise StepError(step_id, "the query is not a SELECT: it returned no rows.")
                # duckdb >= 2 names it to_arrow_reader; 1.x fetch_arrow_reader
                fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
                reader = fetch(ROWS_PER_BATCH)
                _refuse_clashing_names(step_id, reader.schema.names)
            except duckdb.Error as exc:
                if failures:  # an upstream step failed while DuckDB read it: that is the error
                    raise failures[0] from None
                raise _sql_error(step_id, exc, sorted(inputs) + _alias(inputs)) from exc
        except BaseException:
            con.close()
            shutil.rmtree(spill_dir, ignore_errors=True)
            raise
        schema = carry_field_metadata(reader.schema, inputs)
        return {"df": _owned_stream(step_id, con, reader, schema, ctx, failures, spill_dir)}

    @staticmethod
    def _register(
        step_id: str,
        con: Any,
        inputs: dict[str, StepData],
        query: str,
        failures: list[BaseException],
    ) -> None:
        """Inputs become views over their streams. A stream can be scanned once, so an input
        the query names more than once (a self-join) is first loaded into a DuckDB table."""
        names = sorted(inputs)
        for name in names:
            con.register(name, _watched(step_id, name, inputs[name].reader(), failures))
            mentions = _mentions(query, name) + (
                _mentions(query, "input_df") if len(names) == 1 else 0
            )
            if mentions > 1:
                con.execute(f'ALTER VIEW "{name}" RENAME TO "{name}__stream"')
                con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}__stream"')
        if len(names) == 1:
            con.execute(f'CREATE VIEW input_df AS SELECT * FROM "{names[0]}"')


def _alias(inputs: dict[str, StepData]) -> list[str]:
    return ["input_df"] if len(inputs) == 1 else []


def _refuse_unreadable(step_id: str, inputs: dict[str, StepData]) -> None:
    """Types DuckDB cannot scan fail inside it with a message naming neither input nor column."""
    import pyarrow as pa

    for name in sorted(inputs):
        for field in inputs[name].schema:
            if pa.types.is_decimal256(field.type) or pa.types.is_float16(field.type):
                raise StepError(
                    step_id,
                    f"column '{field.name}' of {name} is {field.type}, which DuckDB cannot read"
                    " (its decimals hold at most 38 digits; it has no float16).",
                    hint="Cast it in the step that produces it (e.g. to text or float32).",
                )


def _refuse_clashing_names(step_id: str, names: list[str]) -> None:
    """Two result columns with one name, or names that differ only by case (a ``SELECT *``
    join), cannot both reach a table or a JSON object: writers would merge or rename them."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        groups.setdefault(name.casefold(), []).append(index)
    clashes = [positions for positions in groups.values() if len(positions) > 1]
    if not clashes:
        return
    described = "; ".join(
        " and ".join(f"'{names[i]}' (column {i + 1})" for i in positions) for positions in clashes
    )
    first = names[clashes[0][0]]
    raise StepError(
        step_id,
        f"the query's result has columns whose names are the same or differ only by case:"
        f" {described}. Targets cannot hold both.",
        hint=f"Give each its own name with AS, e.g. SELECT a.{first} AS a_{first},"
        f" b.{first} AS b_{first} (list the columns instead of SELECT *, or join with USING).",
    )


def _watched(
    step_id: str, name: str, reader: pa.RecordBatchReader, failures: list[BaseException]
) -> pa.RecordBatchReader:
    """The same stream, remembering an upstream failure (DuckDB would report it as its own),
    and refusing values DuckDB would truncate: it keeps intervals to the microsecond."""
    import pyarrow as pa

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in reader:
                _refuse_nanoseconds(step_id, name, batch, rows)
                rows += batch.num_rows
                yield batch
        except BaseException as exc:
            failures.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _refuse_nanoseconds(step_id: str, name: str, batch: pa.RecordBatch, offset: int) -> None:
    import pyarrow as pa

    from osiris.exactness import beyond_second_digits, shown

    for field, column in zip(batch.schema, batch.columns, strict=True):
        if not (pa.types.is_duration(field.type) or pa.types.is_interval(field.type)):
            continue  # DuckDB keeps nanosecond timestamps as they are
        found = beyond_second_digits(column, 6)
        if found is not None:
            bad = found[0]
            raise StepError(
                step_id,
                f"column '{field.name}' of {name} row {offset + bad + 1}: {shown(column, bad)}"
                " has nanoseconds, which DuckDB would drop (it keeps microseconds).",
                hint="Round it to microseconds in the step that produces it.",
            )


def _owned_stream(
    step_id: str,
    con: Any,
    reader: pa.RecordBatchReader,
    schema: pa.Schema,
    ctx: StepContext,
    failures: list[BaseException],
    spill_dir: str,
) -> pa.RecordBatchReader:
    """Re-wrap DuckDB's reader so the connection lives until the stream is exhausted or closed,
    and a failure while streaming still names the step.

    A generator that never started skips its ``finally``, so the connection and the spill
    directory are also released when the stream is dropped unread (its consumer was skipped).
    """
    import duckdb
    import pyarrow as pa

    retag = not schema.equals(reader.schema, check_metadata=True)  # marks carried back

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in reader:
                rows += batch.num_rows
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema) if retag else batch
        except (duckdb.Error, pa.ArrowException, OSError) as exc:  # pyarrow may re-raise as OSError
            if failures:
                raise failures[0] from None
            raise StepError(step_id, f"DuckDB failed while producing rows: {exc}") from exc
        finally:
            release()
        ctx.log_metric("rows_out", rows, "rows")

    pull = batches()
    release = weakref.finalize(pull, _release, con, spill_dir)
    return pa.RecordBatchReader.from_batches(schema, pull)


def _release(con: Any, spill_dir: str) -> None:
    """Close the connection and remove its spill directory (runs once per result)."""
    con.close()
    shutil.rmtree(spill_dir, ignore_errors=True)


def carry_field_metadata(schema: pa.Schema, inputs: dict[str, StepData]) -> pa.Schema:
    """DuckDB drops Arrow field metadata, where extractors mark what a plain type cannot say
    (``osiris.type: json`` on a string column). An output column that has the name and the type
    of an input column gets that column's marks back, so a writer still creates JSON as JSON.
    A name whose input columns disagree on their marks gets none."""
    import pyarrow as pa

    marks: dict[str, tuple[str, Any]] = {}
    clashing: set[str] = set()
    for data in inputs.values():
        for field in data.schema:
            entry = (_kind(field.type), field.metadata or None)
            if marks.setdefault(field.name, entry) != entry:
                clashing.add(field.name)
    fields, changed = [], False
    for field in schema:
        kind, meta = marks.get(field.name, (None, None))
        if meta and field.name not in clashing and kind == _kind(field.type):
            field, changed = field.with_metadata(meta), True
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata) if changed else schema


def _kind(typ: pa.DataType) -> str:
    """Types DuckDB hands back in another width (large_string → string) count as the same."""
    import pyarrow as pa

    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return "string"
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_binary_view(typ):
        return "binary"
    return str(typ)


def _mentions(query: str, name: str) -> int:
    return len(re.findall(rf"(?<![\w.]){re.escape(name)}(?!\w)", query, re.I))


def _sql_error(step_id: str, exc: Exception, names: list[str]) -> StepError:
    message = str(exc).strip()
    available = ", ".join(names) or "none (this step has no inputs)"
    unknown = _UNKNOWN_TABLE.search(message)
    if unknown:
        table = unknown.group(1)
        return StepError(
            step_id,
            f"the query uses table {table}, which is not an input of this step; the inputs are:"
            f" {available}.",
            hint="Add the producing step to needs: or fix the table name.",
        )
    first_line = message.splitlines()[0] if message else type(exc).__name__
    return StepError(step_id, f"DuckDB rejected the query: {first_line}")
