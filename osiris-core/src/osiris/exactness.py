"""Would a target column round this Arrow column? The first value it would change, if any.

Databases store a value too precise for its column by rounding it, often without a warning:
1.2345 into DECIMAL(10,2) or numeric(10,2), a fraction of a second into DATETIME or
timestamp(0), 1.5 into an integer column. Writers ask these before they send a batch, and refuse
with the column and row instead of writing a changed value.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

Finding = tuple[int, str]
"""The row index in the array and what is wrong with its value."""


def beyond_scale(array: pa.Array, scale: int) -> Finding | None:
    """A decimal or float with more decimal places than ``scale`` (floats as their shortest
    text, which is how writers render them)."""
    import pyarrow as pa

    typ = array.type
    if pa.types.is_floating(typ):
        return _float_beyond_scale(array, scale)
    if not (pa.types.is_decimal(typ) and typ.scale > scale):
        return None
    for i, value in enumerate(array.to_pylist()):
        if value is not None and value.is_finite() and _places_beyond(value, scale):
            return i, f"({value}) has more than {scale} decimal places"
    return None


def _float_beyond_scale(array: pa.Array, scale: int) -> Finding | None:
    """Vectorised: a float whose shortest text has at most ``scale`` decimals is the double
    nearest to ``round(x * 10**scale) / 10**scale``; any other float is not."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = array.cast(pa.float64())
    factor = 10.0**scale
    back = pc.divide(pc.round(pc.multiply(array, factor)), factor)
    lossy = pc.and_(pc.is_finite(array), pc.not_equal(back, array))
    found = _first(array, lossy, f"has more than {scale} decimal places")
    if found is None:
        return None
    row, _ = found
    return row, f"({shown(array, row)}) has more than {scale} decimal places"


def text_beyond_scale(array: pa.Array, scale: int) -> Finding | None:
    """A number written as text (PostgreSQL's exact numerics read as text, CSV) with more decimal
    places than ``scale``: servers round ``'1.239'`` into DECIMAL(10,2)/numeric(10,2) or INT with
    at most a note. Text that is not a number is left to the server, which refuses it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    if not pc.any(pc.fill_null(pc.match_substring_regex(array, r"[.eE]"), False)).as_py():
        return None
    problem = (
        "has a fraction the column would round away"
        if scale == 0
        else f"has more than {scale} decimal places"
    )
    for row, text in enumerate(array.to_pylist()):
        if text is None:
            continue
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            continue
        if value.is_finite() and _places_beyond(value, scale):
            return row, f"({text.strip()}) {problem}"
    return None


def _places_beyond(value: Decimal, scale: int) -> bool:
    """Whether ``value`` has a non-zero digit after ``scale`` decimal places (exact at any size:
    no decimal context is involved)."""
    _, digits, exponent = value.as_tuple()
    beyond = -int(exponent) - scale
    return beyond > 0 and any(digits[-beyond:])


def not_single_precision(array: pa.Array) -> Finding | None:
    """A double that a single-precision column (MySQL FLOAT, PostgreSQL real) would round."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_float64(array.type):
        return None
    back = array.cast(pa.float32(), safe=False).cast(pa.float64())
    lossy = pc.and_(pc.is_finite(array), pc.not_equal(back, array))
    return _first(array, lossy, "has more precision than the single-precision column keeps")


def not_whole(array: pa.Array) -> Finding | None:
    """A float or decimal with a fraction, for an integer column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if pa.types.is_floating(typ):
        lossy = pc.and_(pc.is_finite(array), pc.not_equal(pc.floor(array), array))
    elif pa.types.is_decimal(typ) and typ.scale > 0:
        lossy = pc.not_equal(pc.floor(array), array)
    else:
        return None
    return _first(array, lossy, "has a fraction the integer column would round away")


def beyond_second_digits(array: pa.Array, digits: int) -> Finding | None:
    """A timestamp, time, duration or month/day/nano interval with more fractional-second digits
    than ``digits``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    step = 10 ** (9 - digits)
    if pa.types.is_interval(typ):  # only the nanoseconds part has fractions of a second
        nanos = [None if v is None else v.nanoseconds for v in array.to_pylist()]
        lossy = pa.array([n is not None and n % step != 0 for n in nanos])
    elif pa.types.is_timestamp(typ) or pa.types.is_time(typ) or pa.types.is_duration(typ):
        extra = {"s": 0, "ms": 3, "us": 6, "ns": 9}[typ.unit] - digits
        if extra <= 0:
            return None
        ticks = array.cast(pa.int64())
        step = 10**extra
        lossy = pc.not_equal(pc.subtract(ticks, pc.multiply(pc.divide(ticks, step), step)), 0)
    else:
        return None
    kept = "no fraction of a second" if digits == 0 else f"{digits} digits of a second"
    return _first(array, lossy, f"is more precise than the column ({kept})")


def shown(array: pa.Array, row: int) -> str:
    """One value as text for a message, without making a Python object of it: nanosecond
    timestamps and durations have none unless pandas is installed, which Osiris does not need."""
    import pyarrow as pa

    value = array.slice(row, 1)
    if pa.types.is_duration(value.type):
        return f"{value.cast(pa.int64())[0].as_py()} {value.type.unit}"
    if pa.types.is_interval(value.type):
        v = value[0].as_py()
        return f"{v.months} months {v.days} days {v.nanoseconds} ns"
    try:
        return str(value.cast(pa.string())[0].as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return str(value[0].as_py())


def _first(array: pa.Array, lossy: pa.Array, problem: str) -> Finding | None:
    import pyarrow.compute as pc

    lossy = pc.fill_null(lossy, False)
    if not pc.any(lossy).as_py():
        return None
    row = int(pc.index(lossy, True).as_py())
    return row, f"({shown(array, row)}) {problem}"
