"""The content checksum of the Arrow data going in, computed batch by batch (memory stays flat).

DuckDB computes the canonical texts and their MD5s over each batch in place (it reads Arrow
without copying); only what DuckDB cannot read exactly (decimals wider than 38 digits,
nanosecond timestamps with sub-microsecond digits) goes through the same rules in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osiris.verify.canonical import Column, column_of, duckdb_checksum_query

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ColumnSum:
    """A column's checksum: its non-NULL values and the sum of their 60-bit hashes."""

    count: int
    total: int

    def __str__(self) -> str:
        return f"{self.count:,} values, sum {self.total}"


class ArrowChecksum:
    """Per-column checksums of a stream of batches that all have ``schema``."""

    def __init__(self, schema: pa.Schema, *, rows: bool = True) -> None:
        """``rows``: also the row checksum (what a database target compares first); a file,
        checksummed by this same class on both sides, compares the columns directly."""
        self.schema = schema
        self.rows = rows
        self.columns: list[Column] = []
        self.unchecked: dict[str, str] = {}
        for field in schema:
            found = column_of(field)
            if isinstance(found, Column):
                self.columns.append(found)
            else:
                self.unchecked[field.name] = found
        self._sums = {c.name: [0, 0] for c in self.columns}
        self._rows = [0, 0]
        self._con: Any = None

    @property
    def sums(self) -> dict[str, ColumnSum]:
        return {name: ColumnSum(count, total) for name, (count, total) in self._sums.items()}

    def exclude(self, name: str, reason: str) -> None:
        """Leave a column out (the target cannot print it exactly); the reason is reported."""
        self.columns = [c for c in self.columns if c.name != name]
        self._sums.pop(name, None)
        self.unchecked[name] = reason

    def wrap(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """The same stream; each batch is added to the checksums as it passes."""
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                self.update(batch)
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    @property
    def row_sum(self) -> ColumnSum:
        """The rows seen and the sum of their row hashes (``canonical.row_text``)."""
        return ColumnSum(*self._rows)

    def update(self, batch: pa.RecordBatch) -> None:
        import duckdb
        import pyarrow as pa

        if not batch.num_rows:
            return
        self._rows[0] += batch.num_rows
        if not self.columns:
            return
        arrays, kinds = [], []
        for column in self.columns:
            array = batch.column(column.name)
            if _duckdb_reads(column, array):
                arrays.append(_prepared(array))
                kinds.append(column)
            else:  # the canonical text made in Python; DuckDB only hashes it
                arrays.append(pa.array(_python_texts(column, array), pa.string()))
                kinds.append(Column(column.name, "text"))
        if self._con is None:
            self._con = duckdb.connect()
        self._con.register("osiris_batch", pa.table({f"c{i}": a for i, a in enumerate(arrays)}))
        try:
            query = duckdb_checksum_query(kinds, "osiris_batch", rows=self.rows)
            row = self._con.execute(query).fetchall()[0]
        finally:
            self._con.unregister("osiris_batch")
        for i, column in enumerate(self.columns):
            sums = self._sums[column.name]
            sums[0] += int(row[2 * i])
            sums[1] += int(row[2 * i + 1] or 0)
        self._rows[1] += int(row[-1] or 0)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _duckdb_reads(column: Column, array: pa.Array) -> bool:
    """DuckDB reads decimals up to 38 digits and timestamps exactly to the microsecond."""
    import pyarrow as pa
    import pyarrow.compute as pc

    type_ = array.type
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_decimal(type_):
        return type_.precision <= 38 and type_.bit_width == 128
    if pa.types.is_timestamp(type_) and type_.unit == "ns":
        nanos = array.cast(pa.int64())
        return not pc.any(pc.not_equal(pc.multiply(pc.divide(nanos, 1000), 1000), nanos)).as_py()
    return True


def _prepared(array: pa.Array) -> pa.Array:
    """Timestamps with a zone become their UTC wall clock (Arrow stores UTC already)."""
    import pyarrow as pa

    type_ = array.type
    if pa.types.is_dictionary(type_):
        array = array.dictionary_decode()
        type_ = array.type
    if pa.types.is_timestamp(type_) and type_.tz:
        return array.cast(pa.timestamp(type_.unit))
    if pa.types.is_fixed_size_binary(type_):
        return array.cast(pa.binary())
    if pa.types.is_float16(type_):  # DuckDB reads no half floats; float32 holds each exactly
        return array.cast(pa.float32())
    return array


def _python_texts(column: Column, array: pa.Array) -> list[str | None]:
    import pyarrow as pa

    if column.kind in ("timestamp", "timestamptz"):  # nanoseconds: read as integers
        values: list[Any] = array.cast(pa.int64()).to_pylist()
    else:
        values = array.to_pylist()
    return [None if v is None else python_text(column, v) for v in values]


def python_text(column: Column, value: Any) -> str:
    """The canonical text in Python, for the values DuckDB cannot read exactly: decimals wider
    than 38 digits, and nanosecond timestamps (``value`` is then nanoseconds since the epoch,
    UTC; sub-microsecond digits add three more fraction digits)."""
    import datetime
    import decimal

    if column.kind == "decimal":
        with decimal.localcontext(prec=200):  # wide enough for decimal256
            quantum = decimal.Decimal(1).scaleb(-column.scale)
            return format(decimal.Decimal(value).quantize(quantum), "f")
    if column.kind in ("timestamp", "timestamptz"):
        micros, nanos = divmod(int(value), 1000)
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + (f"{nanos:03d}" if nanos else "")
    raise AssertionError(f"no Python canonical text for {column.kind}")
