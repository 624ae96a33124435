"""PostgreSQL dates and timestamps as Arrow, over their whole range.

PostgreSQL holds dates from 4713 BC to 5874897 AD, timestamps to 294276 AD, and ``±infinity``;
Python's ``datetime`` holds years 1 to 9999, so values are loaded as PostgreSQL's ISO text and
parsed here: column-wise by pyarrow for the ordinary ones, with integer arithmetic (proleptic
Gregorian, astronomical years: 1 BC is year 0) for BC and five-digit years.

``±infinity`` has no Arrow value: it becomes ±(the largest value) of the Arrow type
(``INFINITY``), which no real PostgreSQL date or timestamp reaches, and the writers turn those
back into ``±infinity``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

INFINITY = {"date32": (-(2**31 - 1), 2**31 - 1), "timestamp": (-(2**63 - 1), 2**63 - 1)}
"""(-infinity, +infinity) as the storage integers of date32 and timestamp[us]: DuckDB's own
spelling, so ``duckdb.processor`` sees them as infinite too (PostgreSQL's binary format uses the
type's minimum for -infinity: ``PG_INFINITY``)."""
PG_INFINITY = {"date32": (-(2**31), 2**31 - 1), "timestamp": (-(2**63), 2**63 - 1)}

_ODD = r"BC$|^\d{5,}|infinity$"
_TEXT = re.compile(
    r"^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:\+00(?::00)?)?( BC)?$"
)
_US_PER_DAY = 86_400_000_000


class OutOfRange(ValueError):
    """A value Arrow cannot hold; ``index`` is its 0-based position."""

    def __init__(self, index: int, value: str, type_: pa.DataType) -> None:
        super().__init__(f"{value!r} is beyond the range of {type_}")
        self.index = index


def from_pg_text(values: Sequence[str | None], type_: pa.DataType) -> pa.Array:
    """PostgreSQL ISO text (``DateStyle = ISO``, ``TimeZone = UTC``) of a date, timestamp or
    timestamptz column as ``type_`` (date32 or timestamp[us], with or without UTC)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(values, pa.string())
    odd = pc.fill_null(pc.match_substring_regex(text, _ODD), False)
    if not pc.any(odd).as_py():
        return pc.cast(text, type_)
    plain = pc.cast(pc.if_else(odd, pa.scalar(None, pa.string()), text), type_)
    is_date = pa.types.is_date32(type_)
    storage = pa.int32() if is_date else pa.int64()
    low, high = INFINITY["date32" if is_date else "timestamp"]
    replacements = []
    for index in pc.indices_nonzero(odd).to_pylist():
        number = _number(values[index], is_date)
        if number is None or not low <= number <= high:
            raise OutOfRange(index, values[index], type_)
        replacements.append(number)
    numbers = pc.replace_with_mask(plain.view(storage), odd, pa.array(replacements, storage))
    return numbers.view(type_)


def _number(text: str, is_date: bool) -> int | None:
    """Days (date) or microseconds (timestamp) since 1970-01-01 of one PostgreSQL text value."""
    if text in ("infinity", "-infinity"):
        low, high = INFINITY["date32" if is_date else "timestamp"]
        return high if text == "infinity" else low
    match = _TEXT.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, bc = match.groups()
    days = days_from_civil(1 - int(year) if bc else int(year), int(month), int(day))
    if is_date:
        return days
    seconds = int(hour or 0) * 3600 + int(minute or 0) * 60 + int(second or 0)
    return days * _US_PER_DAY + seconds * 1_000_000 + int((fraction or "0").ljust(6, "0"))


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (astronomical ``year``)."""
    year -= month <= 2
    era = year // 400  # floor division: also right for years before 0
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def to_pg_input(array: pa.Array) -> pa.Array:
    """A date32 or timestamp[us] column as pyarrow's CSV writer should render it for PostgreSQL:
    as it is, unless it holds years before 1 (Arrow prints ``-0043-03-15``, PostgreSQL reads
    ``0044-03-15 BC``), after 9999 (Arrow cannot print years past 32767) or ±infinity; then as
    text, with only those values formatted here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    is_date = pa.types.is_date32(array.type)
    if not is_date and array.type.unit != "us":
        array = array.cast(pa.timestamp("us", array.type.tz))
    scale = 1 if is_date else _US_PER_DAY
    numbers = array.view(pa.int32() if is_date else pa.int64())
    first, after = days_from_civil(1, 1, 1) * scale, days_from_civil(10000, 1, 1) * scale
    odd = pc.fill_null(pc.or_(pc.less(numbers, first), pc.greater_equal(numbers, after)), False)
    if not pc.any(odd).as_py():
        return array
    low, high = INFINITY["date32" if is_date else "timestamp"]
    zone = "" if is_date or array.type.tz is None else "+00"
    rewritten = []
    for index in pc.indices_nonzero(odd).to_pylist():
        number = numbers[index].as_py()
        if number in (low, high):
            rewritten.append("infinity" if number == high else "-infinity")
            continue
        days, micros = divmod(number, scale)
        year, month, day = civil_from_days(days)
        text = f"{max(year, 1 - year):04d}-{month:02d}-{day:02d}"
        if not is_date:
            seconds, fraction = divmod(micros, 1_000_000)
            text += f" {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            text += f".{fraction:06d}{zone}"
        rewritten.append(text + (" BC" if year < 1 else ""))
    return pc.replace_with_mask(pc.cast(pc.if_else(odd, None, array), pa.string()), odd,
                                pa.array(rewritten, pa.string()))  # fmt: skip


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(astronomical year, month, day) of a day count since 1970-01-01 (proleptic Gregorian)."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": _US_PER_DAY, "ns": 86_400_000_000_000}


def first_beyond_python(array: pa.Array) -> int | None:
    """The 0-based row of the first date or timestamp outside the years 1 to 9999 (Python's
    ``datetime``, which the REST transport's JSON goes through), or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    type_ = array.type
    if pa.types.is_date32(type_):
        scale, numbers = 1, array.view(pa.int32())
    elif pa.types.is_timestamp(type_) and type_.unit != "ns":  # ns reach 1677-2262 only
        scale, numbers = _PER_DAY[type_.unit], array.view(pa.int64())
    else:
        return None
    first, after = days_from_civil(1, 1, 1) * scale, days_from_civil(10000, 1, 1) * scale
    odd = pc.fill_null(pc.or_(pc.less(numbers, first), pc.greater_equal(numbers, after)), False)
    return pc.index(odd, True).as_py() if pc.any(odd).as_py() else None


def first_far_out_text(text: pa.Array) -> int | None:
    """The 0-based row of the first PostgreSQL date/timestamp text that is BC, after 9999 or
    ±infinity, or None."""
    import pyarrow.compute as pc

    odd = pc.fill_null(pc.match_substring_regex(text, _ODD), False)
    return pc.index(odd, True).as_py() if pc.any(odd).as_py() else None
