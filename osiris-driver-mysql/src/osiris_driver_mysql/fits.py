"""Values an existing target column would round are refused, never written changed.

MySQL stores a value that is too precise for its column by rounding it, mostly without a warning
(1.2345 into DECIMAL(10,2) is a Note, a fraction of a second into DATETIME or 1.5 into INT is
nothing at all). Each batch is checked against the target's columns before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from osiris.exactness import (
    beyond_scale,
    beyond_second_digits,
    not_single_precision,
    not_whole,
    shown,
    text_beyond_scale,
)

from osiris_driver_mysql.types import CellError

if TYPE_CHECKING:
    import pyarrow as pa

_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}
_TEMPORAL = {"datetime", "timestamp", "time"}
_YEARS = (-719_162, 2_932_896)
"""0001-01-01 and 9999-12-31 as days since 1970: what a DATE or DATETIME column holds (Arrow
holds BC dates, year 10000 and more)."""
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000}


@dataclass(frozen=True)
class TargetColumn:
    """What information_schema says about one column of the target table."""

    data_type: str
    scale: int | None
    fsp: int | None


def check_fits(batch: pa.RecordBatch, columns: dict[str, TargetColumn]) -> None:
    """Raise CellError for the first value of ``batch`` its target column would round or cannot
    hold. A column not in ``columns`` goes into a table created from the input (dates become
    DATE, timestamps DATETIME)."""
    import pyarrow as pa

    for field, array in zip(batch.schema, batch.columns, strict=True):
        target = columns.get(field.name)
        if target is not None:
            data_type = target.data_type
        else:
            data_type = "date" if pa.types.is_date(field.type) else "datetime"
        finding = _beyond_years(array, data_type) if data_type in ("date", "datetime") else None
        if finding is None and target is not None:
            finding = _rounded(array, target)
        if finding is not None:
            raise CellError(field.name, *finding)


def _rounded(array: pa.Array, target: TargetColumn) -> tuple[int, str] | None:
    if target.data_type in _INTEGERS:
        return not_whole(array) or text_beyond_scale(array, 0)
    if target.data_type == "decimal" and target.scale is not None:
        return beyond_scale(array, target.scale) or text_beyond_scale(array, target.scale)
    if target.data_type == "float":
        return not_single_precision(array)
    if target.data_type in _TEMPORAL and target.fsp is not None:
        return beyond_second_digits(array, target.fsp)
    return None


def _beyond_years(array: pa.Array, data_type: str) -> tuple[int, str] | None:
    """A date or timestamp before year 1 or after 9999, which the column cannot hold."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if pa.types.is_date32(typ):
        per_day, numbers = 1, array.view(pa.int32())
    elif pa.types.is_date64(typ):
        per_day, numbers = _PER_DAY["ms"], array.view(pa.int64())
    elif pa.types.is_timestamp(typ) and typ.unit != "ns":  # ns reach 1677-2262 only; tz: UTC
        per_day, numbers = _PER_DAY[typ.unit], array.view(pa.int64())
    else:
        return None
    outside = pc.or_(
        pc.less(numbers, _YEARS[0] * per_day), pc.greater_equal(numbers, (_YEARS[1] + 1) * per_day)
    )
    outside = pc.fill_null(outside, False)
    if not pc.any(outside).as_py():
        return None
    row = pc.index(outside, True).as_py()
    return row, (
        f"({shown(array, row)}) is outside the years 1 to 9999 that a MySQL"
        f" {data_type.upper()} column holds"
    )
