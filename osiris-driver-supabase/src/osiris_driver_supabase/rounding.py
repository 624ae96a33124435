"""Values a target column would round are refused before they are sent (postgres transport).

PostgreSQL rounds a float into numeric(p,s) to the column's scale, a double into real to single
precision, and fractional seconds into timestamp(p)/time(p) to the column's precision, without a
word. Decimal columns wider than the
target are refused up front (``pg_writer``); these checks look at the values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from osiris.errors import StepError
from osiris.exactness import (
    Finding,
    beyond_scale,
    beyond_second_digits,
    not_single_precision,
    text_beyond_scale,
)

if TYPE_CHECKING:
    import pyarrow as pa

Check = Callable[["pa.Array"], Finding | None]

_NUMERIC = re.compile(r"numeric\(\d+,(\d+)\)")
_SECONDS = re.compile(r"(?:timestamp|time)\((\d)\) with(?:out)? time zone")


def rounding_checks(full_types: Mapping[str, str], schema: pa.Schema) -> dict[str, Check]:
    """For each input column, the check its target column needs (most need none)."""
    import pyarrow as pa

    checks: dict[str, Check] = {}
    for field in schema:
        full = full_types.get(field.name, "")
        if (m := _NUMERIC.fullmatch(full)) and pa.types.is_floating(field.type):
            checks[field.name] = partial(beyond_scale, scale=int(m[1]))
        elif m and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            checks[field.name] = partial(text_beyond_scale, scale=int(m[1]))
        elif full == "real" and pa.types.is_float64(field.type):
            checks[field.name] = not_single_precision
        elif m := _SECONDS.fullmatch(full):
            checks[field.name] = partial(beyond_second_digits, digits=int(m[1]))
    return checks


def refuse_rounded(
    step_id: str, batch: pa.RecordBatch, checks: Mapping[str, Check], first_row: int
) -> None:
    """Raise for the first value of ``batch`` its column would round (``first_row``: input row
    number of the batch's first row)."""
    for name, check in checks.items():
        finding = check(batch.column(name))
        if finding is not None:
            row, problem = finding
            raise StepError(
                step_id,
                f"column '{name}' input row {first_row + row}: {problem}; nothing was changed.",
                hint="Widen the column, or round explicitly in a duckdb.processor step.",
            )
