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
    text_beyond_scale,
)

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
        finding = None
        if target.data_type in _INTEGERS:
            finding = not_whole(array) or text_beyond_scale(array, 0)
        elif target.data_type == "decimal" and target.scale is not None:
            finding = beyond_scale(array, target.scale) or text_beyond_scale(array, target.scale)
        elif target.data_type == "float":
            finding = not_single_precision(array)
        elif target.data_type in _TEMPORAL and target.fsp is not None:
            finding = beyond_second_digits(array, target.fsp)
        if finding is not None:
            raise CellError(field.name, *finding)
