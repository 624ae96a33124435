"""StepData: how a step sees the output of an upstream step.

A single-consumer edge is a live ``RecordBatchReader`` that can be read once, batch by batch, so
memory is bounded by the batch size. A multi-consumer output is spilled to an Arrow IPC file by
the runner and can be read any number of times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import OsirisError

if TYPE_CHECKING:
    import pyarrow as pa


def input_name(step_id: str) -> str:
    """The table name a step's data has downstream: ``df_<step id>`` with every non-identifier
    character turned into ``_`` (``read-movies`` -> ``df_read_movies``)."""
    return "df_" + re.sub(r"[^0-9A-Za-z_]", "_", step_id)


class StepData:
    """An upstream output. Use ``reader()`` to stream; ``to_table()``/``to_pandas()`` load it all."""

    def __init__(
        self, open_reader: Callable[[], pa.RecordBatchReader], schema: pa.Schema, *, reusable: bool
    ) -> None:
        self._open_reader = open_reader
        self._schema = schema
        self._reusable = reusable
        self._consumed = False

    @classmethod
    def from_reader(cls, reader: pa.RecordBatchReader) -> StepData:
        """Wrap a live stream: readable once."""
        return cls(lambda: reader, reader.schema, reusable=False)

    @classmethod
    def from_table(cls, table: pa.Table) -> StepData:
        import pyarrow as pa

        return cls(
            lambda: pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
            table.schema,
            reusable=True,
        )

    @classmethod
    def from_ipc_file(cls, path: Path) -> StepData:
        """Wrap an Arrow IPC stream file (a spill): readable many times, memory-mapped."""
        import pyarrow as pa

        def open_reader() -> pa.RecordBatchReader:
            return pa.ipc.open_stream(pa.memory_map(str(path), "r"))

        with pa.memory_map(str(path), "r") as source:
            schema = pa.ipc.open_stream(source).schema
        return cls(open_reader, schema, reusable=True)

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def reader(self) -> pa.RecordBatchReader:
        """The data as a stream of record batches."""
        if self._consumed and not self._reusable:
            raise OsirisError("This input was already read; a streamed input can be read once.")
        self._consumed = True
        return self._open_reader()

    def to_table(self) -> pa.Table:
        return self.reader().read_all()

    def to_pandas(self) -> Any:
        return self.to_table().to_pandas()


def as_reader(value: Any) -> pa.RecordBatchReader:
    """Normalise a driver's ``df`` (RecordBatchReader, Table or pandas DataFrame) to a stream."""
    import pyarrow as pa

    if isinstance(value, pa.RecordBatchReader):
        return value
    if isinstance(value, pa.Table):
        return pa.RecordBatchReader.from_batches(value.schema, value.to_batches())
    if isinstance(value, StepData):
        return value.reader()
    if type(value).__module__.startswith("pandas") and hasattr(value, "to_records"):
        table = pa.Table.from_pandas(value, preserve_index=False)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    raise OsirisError(
        f"A driver returned {type(value).__name__} as 'df'; expected a pyarrow RecordBatchReader,"
        " a pyarrow Table or a pandas DataFrame."
    )
