"""The content checksum of the Arrow data going in, computed batch by batch (memory stays flat).

DuckDB computes the canonical texts and their MD5s over each batch in place (it reads Arrow
without copying); only what DuckDB cannot read exactly (decimals wider than 38 digits,
nanosecond timestamps with sub-microsecond digits) goes through the same rules in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osiris.verify.canonical import (
    Column,
    checksum_sql,
    column_of,
    duckdb_float_checksum,
    duckdb_text,
)

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

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.columns: list[Column] = []
        self.unchecked: dict[str, str] = {}
        for field in schema:
            found = column_of(field)
            if isinstance(found, Column):
                self.columns.append(found)
            else:
                self.unchecked[field.name] = found
        self._sums = {c.name: [0, 0] for c in self.columns}
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

    def update(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows or not self.columns:
            return
        fast: list[tuple[Column, pa.Array]] = []
        for column in self.columns:
            array = batch.column(column.name)
            if _duckdb_reads(column, array):
                fast.append((column, _prepared(array)))
            else:
                self._add(column.name, *_python_sum(column, array))
        if fast:
            self._duckdb_update(fast)

    def _add(self, name: str, count: int, total: int) -> None:
        sums = self._sums[name]
        sums[0] += count
        sums[1] += total

    def _duckdb_update(self, columns: list[tuple[Column, pa.Array]]) -> None:
        import duckdb
        import pyarrow as pa

        if self._con is None:
            self._con = duckdb.connect()
        table = pa.table({f"c{i}": array for i, (_, array) in enumerate(columns)})
        plain = [(i, c) for i, (c, _) in enumerate(columns) if c.kind != "float"]
        self._con.register("osiris_batch", table)
        try:
            if plain:
                select = ", ".join(
                    f"count(c{i}), {checksum_sql('duckdb', duckdb_text(column, f'c{i}'))}"
                    for i, column in plain
                )
                row = self._con.execute(f"SELECT {select} FROM osiris_batch").fetchall()[0]
                for n, (_, column) in enumerate(plain):
                    self._add(column.name, int(row[2 * n]), int(row[2 * n + 1] or 0))
            for i, (column, _) in enumerate(columns):
                if column.kind == "float":
                    query = duckdb_float_checksum(f"c{i}", "osiris_batch")
                    count, total = self._con.execute(query).fetchall()[0]
                    self._add(column.name, int(count), int(total or 0))
        finally:
            self._con.unregister("osiris_batch")

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
    return array


def _python_sum(column: Column, array: pa.Array) -> tuple[int, int]:
    import pyarrow as pa

    if column.kind in ("timestamp", "timestamptz"):  # nanoseconds: read as integers
        values: list[Any] = array.cast(pa.int64()).to_pylist()
    else:
        values = array.to_pylist()
    count = total = 0
    for value in values:
        if value is None:
            continue
        count += 1
        total += hash60(python_text(column, value))
    return count, total


def hash60(text: str) -> int:
    """The first 15 hex digits of the MD5 of ``text``'s UTF-8 bytes, as an integer."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:15], 16)


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
