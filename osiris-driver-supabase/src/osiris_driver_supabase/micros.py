"""PostgreSQL keeps time to the microsecond: finer values are refused, never rounded.

Both transports send what this returns: nanosecond timestamps, times and durations cast to
microseconds when that is exact, and otherwise an error naming the column and the row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from osiris.errors import OsirisError
from osiris.exactness import beyond_second_digits, shown

if TYPE_CHECKING:
    import pyarrow as pa

HINT = "Truncate the column to microseconds in a duckdb.processor step if that is acceptable."


def exact_micros(field: pa.Field, array: pa.Array, first_row: int) -> pa.Array:
    """``array`` in microseconds; ``first_row`` is the input row number of its first value."""
    import pyarrow as pa
    import pyarrow.types as t

    typ = array.type
    if t.is_interval(typ):
        _refuse(field, array, first_row)
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
    _refuse(field, array, first_row)
    return array.cast(target)  # exact: nothing below a microsecond is left


def _refuse(field: pa.Field, array: pa.Array, first_row: int) -> None:
    found = beyond_second_digits(array, 6)
    if found is not None:
        row = found[0]
        raise OsirisError(
            f"Column '{field.name}' row {first_row + row}: {shown(array, row)} has nanoseconds;"
            " PostgreSQL keeps microseconds, so writing it would change the data.",
            hint=HINT,
        )
