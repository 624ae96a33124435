"""CSV type inference that never changes a value's text.

pyarrow proposes a type for each column from the first block of the file. The column keeps a
type only if every value, read through it and printed back the way the CSV writer prints it,
is exactly the text it was: ``007``, ``+5``, ``1e5``, ``1.50`` next to ``2.5``, `` 5``, ``NaN``,
``TRUE`` or ``2024-01-02T10:00`` keep a column as text. The check runs on whole columns with
pyarrow compute (a cast there, a cast back, one comparison), never value by value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_UNITS = ("s", "ms", "us", "ns")
_PLACES = re.compile(r"-?\d{1,38}(?:\.(\d{1,37}))?")


def candidates(proposed: pa.DataType, first: str | None = None) -> list[pa.DataType]:
    """The types tried, in order, for a column pyarrow proposed ``proposed`` for; none for text
    (and for null or binary columns, which keep pyarrow's own handling). pyarrow proposes
    nanoseconds for any fraction, so every unit is tried: the one whose digits the text has wins.
    Numbers that are not floats in their shortest form (``1.50``, ``249.00``, 20-digit ids) are
    tried as a decimal with as many places as ``first``, the column's first value, has."""
    import pyarrow as pa

    if pa.types.is_timestamp(proposed):
        return [pa.timestamp(unit, tz=proposed.tz) for unit in _UNITS]
    if pa.types.is_time(proposed):
        return [pa.time32("s"), pa.time32("ms"), pa.time64("us"), pa.time64("ns")]
    if pa.types.is_floating(proposed):
        places = _PLACES.fullmatch(first or "")
        scale = len(places.group(1) or "") if places else None
        return [proposed] + ([pa.decimal128(38, scale)] if scale is not None else [])
    if (
        pa.types.is_string(proposed)
        or pa.types.is_large_string(proposed)
        or pa.types.is_null(proposed)
        or pa.types.is_binary(proposed)
        or pa.types.is_large_binary(proposed)
    ):
        return []
    return [proposed]


@dataclass(frozen=True)
class Changed:
    """The first value (0-based ``index``) of a column that does not keep its text as a type:
    ``printed`` is what it would become (None: it does not parse at all)."""

    index: int
    value: str
    printed: str | None


def convert(text: pa.Array, type_: pa.DataType) -> pa.Array | Changed:
    """``text`` as ``type_`` when every value prints back as exactly its text, else the first
    value that would change."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        typed = _parse(text, type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _unparsable(text, type_)
    same = pc.equal(pc.cast(typed, pa.string()), text)  # NULL where the text is NULL
    if pc.all(same).as_py() is not False:
        return typed
    index = pc.index(same, False).as_py()
    return Changed(index, text[index].as_py(), pc.cast(typed[index], pa.string()).as_py())


def choose(text: pa.Array, proposed: pa.DataType) -> pa.DataType:
    """The first candidate type every value of ``text`` keeps its text through, else string."""
    import pyarrow as pa

    present = text.drop_null()
    first = present[0].as_py() if len(present) else None
    for type_ in candidates(proposed, first):
        if not isinstance(convert(text, type_), Changed):
            return type_
    return pa.string()


def _parse(text: pa.Array, type_: pa.DataType) -> pa.Array:
    """``text`` cast to ``type_``; times (which pyarrow does not cast from text) as the time of
    day of a timestamp on 1970-01-01."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_time(type_):
        unit = type_.unit
        stamped = pc.binary_join_element_wise("1970-01-01 ", text, "")
        return pc.cast(pc.cast(stamped, pa.timestamp(unit)), type_)
    return pc.cast(text, type_)


def _unparsable(text: pa.Array, type_: pa.DataType) -> Changed:
    """The first value that does not cast at all; found by halving, so a few casts of ever
    smaller slices rather than one per value."""
    import pyarrow as pa

    start, stop = 0, len(text)
    while stop - start > 1:
        middle = (start + stop) // 2
        try:
            _parse(text.slice(start, middle - start), type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            stop = middle
        else:
            start = middle
    return Changed(start, text[start].as_py(), None)
