"""How Arrow values become text in CSV and JSON, and back: exact, documented, reversible.

Decimals are written as their exact digits (never through float), dates as ``YYYY-MM-DD``,
timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` (tz-aware ones with a ``+hhmm`` offset, normalised to
the column's zone), binary values as base64. Reading applies the reverse for pinned types.
"""

from __future__ import annotations

import base64
import codecs
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def is_binary(type_: pa.DataType) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
        or (pa.types.is_fixed_size_binary(type_))
    )


def base64_encode(array: pa.Array) -> pa.Array:
    """Binary values as base64 text (nulls stay null)."""
    import pyarrow as pa

    return pa.array(
        [None if v is None else base64.b64encode(v).decode("ascii") for v in array.to_pylist()],
        pa.string(),
    )


def base64_decode(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Base64 text back to binary; raises ValueError naming the 0-based row of a bad value."""
    import pyarrow as pa

    out: list[bytes | None] = []
    for index, value in enumerate(array.to_pylist()):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(base64.b64decode(value, validate=True))
        except ValueError as exc:
            raise ValueError(f"row {index + 1}: '{value[:40]}' is not base64") from exc
    return pa.array(out, target)


_PRINTABLE_DAYS = (-12_687_428, 11_248_737)
"""-32767-01-01 and 32767-12-31 as days since 1970: pyarrow prints dates and timestamps of these
years only; beyond, it writes ``<value out of range: N>`` or, with a time zone, wraps the year."""
_UNIT_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


class Unprintable(ValueError):
    """A date or timestamp pyarrow cannot print; ``index`` is its 0-based row in the batch."""

    def __init__(self, column: str, index: int) -> None:
        super().__init__(f"column '{column}' row {index + 1} is beyond the year 32767")
        self.column, self.index = column, index


def _refuse_unprintable(name: str, column: pa.Array) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    type_ = column.type
    if pa.types.is_date32(type_):
        per_day, storage, margin = 1, pa.int32(), 0
    elif pa.types.is_date64(type_):
        per_day, storage, margin = _UNIT_PER_DAY["ms"], pa.int64(), 0
    elif pa.types.is_timestamp(type_) and type_.unit != "ns":  # ns reach 1677-2262 only
        per_day, storage = _UNIT_PER_DAY[type_.unit], pa.int64()
        margin = 1 if type_.tz else 0  # printed in the zone's local time: a day either side
    else:
        return
    low = (_PRINTABLE_DAYS[0] + margin) * per_day
    beyond = (_PRINTABLE_DAYS[1] + 1 - margin) * per_day
    numbers = column.view(storage)
    extremes = pc.min_max(numbers).as_py()
    if extremes["min"] is None or (low <= extremes["min"] and extremes["max"] < beyond):
        return
    outside = pc.or_(pc.less(numbers, low), pc.greater_equal(numbers, beyond))
    raise Unprintable(name, pc.index(pc.fill_null(outside, False), True).as_py())


def to_text_batch(batch: pa.RecordBatch, *, json: bool = False) -> pa.RecordBatch:
    """Cast the columns that text formats cannot hold natively to their text form.

    For CSV only binary needs help (pyarrow writes the rest exactly); for JSON every
    non-JSON scalar (decimal, date, time, timestamp, duration, binary) becomes a string.
    A date or timestamp beyond the years pyarrow prints raises ``Unprintable``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        _refuse_unprintable(name, column)
    columns = []
    changed = False
    for column in batch.columns:
        type_ = column.type
        if is_binary(type_):
            column, changed = base64_encode(column), True
        elif json and (pa.types.is_decimal(type_) or pa.types.is_temporal(type_)):
            column, changed = pc.cast(column, pa.string()), True
        columns.append(column)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def text_schema(schema: pa.Schema, *, json: bool = False) -> pa.Schema:
    """The schema of ``to_text_batch`` output."""
    import pyarrow as pa

    fields = []
    for field in schema:
        if is_binary(field.type) or (
            json and (pa.types.is_decimal(field.type) or pa.types.is_temporal(field.type))
        ):
            field = field.with_type(pa.string())
        fields.append(field)
    return pa.schema(fields)


class Transcoder(io.RawIOBase):
    """A writable file that receives UTF-8 bytes and passes them on in another encoding.

    Both sides are incremental: an encoding with a signature (``utf-8-sig``, ``utf-16``) writes
    its BOM once at the start of the file, not at the start of every chunk pyarrow writes.
    Closing it does not close the sink (the caller owns it)."""

    def __init__(self, sink: Any, encoding: str) -> None:
        self._sink = sink
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._encoder = codecs.getincrementalencoder(encoding)()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        text = self._decoder.decode(bytes(data))
        self._sink.write(self._encoder.encode(text))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            tail = self._encoder.encode(self._decoder.decode(b"", final=True), final=True)
            if tail:
                self._sink.write(tail)
        super().close()
