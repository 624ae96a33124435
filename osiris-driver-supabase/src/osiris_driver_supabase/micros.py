"""PostgreSQL keeps time to the microsecond: finer values are refused, never rounded.

Both transports send what this returns: nanosecond timestamps, times and durations cast to
microseconds when that is exact, and otherwise an error naming the column and the row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from osiris.errors import OsirisError
from osiris.exactness import shown

if TYPE_CHECKING:
    import pyarrow as pa

HINT = "Truncate the column to microseconds in a duckdb.processor step if that is acceptable."


def exact_micros(field: pa.Field, array: pa.Array, first_row: int) -> pa.Array:
    """``array`` in microseconds; ``first_row`` is the input row number of its first value."""
    import pyarrow as pa
    import pyarrow.types as t

    typ = array.type
    if t.is_interval(typ):
        _check_intervals(field, array, first_row)
        return array
    if getattr(typ, "unit", None) != "ns":
        return array
    if t.is_timestamp(typ):
        target = pa.timestamp("us", typ.tz)
    elif t.is_time64(typ):
        target = pa.time64("us")
    elif t.is_duration(typ):
        target = pa.duration("us")
    else:
        return array
    try:
        return array.cast(target, safe=True)
    except pa.ArrowInvalid:
        nanos = array.cast(pa.int64()).to_pylist()
        bad = next(i for i, v in enumerate(nanos) if v is not None and v % 1000)
        raise _error(field, first_row + bad, shown(array, bad)) from None


def _check_intervals(field: pa.Field, array: pa.Array, first_row: int) -> None:
    for i, value in enumerate(array.to_pylist()):
        if value is not None and value.nanoseconds % 1000:
            shown = f"{value.months} months {value.days} days {value.nanoseconds} ns"
            raise _error(field, first_row + i, shown)


def _error(field: pa.Field, row: int, value: str) -> OsirisError:
    return OsirisError(
        f"Column '{field.name}' row {row}: {value} has nanoseconds; PostgreSQL keeps microseconds,"
        " so writing it would change the data.",
        hint=HINT,
    )
