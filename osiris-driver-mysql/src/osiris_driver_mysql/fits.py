"""Values an existing target column would round are refused, never written changed.

MySQL stores a value that is too precise for its column by rounding it, mostly without a warning
(1.2345 into DECIMAL(10,2) is a Note, a fraction of a second into DATETIME or 1.5 into INT is
nothing at all). Each batch is checked against the target's columns before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from osiris_driver_mysql.types import CellError

if TYPE_CHECKING:
    import pyarrow as pa

_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}
_TEMPORAL = {"datetime", "timestamp", "time"}


@dataclass(frozen=True)
class TargetColumn:
    """What information_schema says about one column of the target table."""

    data_type: str
    scale: int | None
    fsp: int | None


def check_fits(batch: pa.RecordBatch, columns: dict[str, TargetColumn]) -> None:
    """Raise CellError for the first value of ``batch`` its target column would round."""
    for field, array in zip(batch.schema, batch.columns, strict=True):
        target = columns.get(field.name)
        if target is None:
            continue
        if target.data_type in _INTEGERS:
            _whole_numbers(field.name, array)
        elif target.data_type == "decimal" and target.scale is not None:
            _decimal_places(field.name, array, target.scale)
        elif target.data_type in _TEMPORAL and target.fsp is not None and target.fsp < 6:
            _second_fractions(field.name, array, target.fsp)


def _whole_numbers(name: str, array: pa.Array) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if pa.types.is_floating(typ):
        finite = pc.is_finite(array)
        lossy = pc.and_(finite, pc.not_equal(pc.floor(array), array))
    elif pa.types.is_decimal(typ) and typ.scale > 0:
        lossy = pc.not_equal(pc.floor(array), array)
    else:
        return
    _refuse_first(name, array, lossy, "has a fraction the integer column would round away")


def _decimal_places(name: str, array: pa.Array, scale: int) -> None:
    import pyarrow as pa

    typ = array.type
    if pa.types.is_decimal(typ) and typ.scale > scale:
        values = array.to_pylist()
    elif pa.types.is_floating(typ):  # as written: the shortest text that reads back the same
        values = [None if v is None or v != v else Decimal(repr(v)) for v in array.to_pylist()]
    else:
        return
    for i, value in enumerate(values):
        if value is not None and value.is_finite() and _places_beyond(value, scale):
            raise CellError(name, i, f"({value}) has more than {scale} decimal places")


def _places_beyond(value: Decimal, scale: int) -> bool:
    """Whether ``value`` has a non-zero digit after ``scale`` decimal places (exact at any size:
    no decimal context is involved)."""
    _, digits, exponent = value.as_tuple()
    beyond = -int(exponent) - scale
    return beyond > 0 and any(digits[-beyond:])


def _second_fractions(name: str, array: pa.Array, fsp: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if not (pa.types.is_timestamp(typ) or pa.types.is_time(typ) or pa.types.is_duration(typ)):
        return
    per_unit = {"s": 0, "ms": 3, "us": 6, "ns": 9}[typ.unit] - fsp
    if per_unit <= 0:
        return
    ticks = array.cast(pa.int64())
    step = 10**per_unit
    lossy = pc.not_equal(pc.subtract(ticks, pc.multiply(pc.divide(ticks, step), step)), 0)
    digits = "no fraction of a second" if fsp == 0 else f"{fsp} digits of a second"
    _refuse_first(name, array, lossy, f"is more precise than the column ({digits})")


def _refuse_first(name: str, array: pa.Array, lossy: pa.Array, problem: str) -> None:
    import pyarrow.compute as pc

    lossy = pc.fill_null(lossy, False)
    if pc.any(lossy).as_py():
        row = int(pc.index(lossy, True).as_py())
        raise CellError(name, row, f"({array[row].as_py()}) {problem}")
