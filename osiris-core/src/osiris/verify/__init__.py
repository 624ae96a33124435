"""Verified loads: every writer proves it wrote what it received, before it commits.

Two levels (``verify:`` in a writer's config, or ``osiris run --verify`` for every writer):

- ``count`` (the default, always on): the rows the target holds from this load are counted
  inside the write (COPY's row count, the table's count for ``replace``, the rows of the load
  found in the target for ``upsert``, the rows in the written temporary file) and must equal the
  rows received.
- ``checksum``: also an order-independent checksum per column of the Arrow data going in,
  compared with the same checksum computed over the target (in SQL, or over the written file).

A mismatch fails the step before the commit (or before the rename of the file). The canonical
text each value is hashed as is defined once, in :mod:`osiris.verify.canonical`, with the SQL
that produces the identical text in MySQL/MariaDB and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from osiris.errors import StepError
from osiris.verify.arrow import ArrowChecksum, ColumnSum

__all__ = [
    "MODES",
    "ArrowChecksum",
    "ColumnSum",
    "compare",
    "compare_columns",
    "mode_for",
    "record",
    "require_count",
]

MODES = ("count", "checksum")


def mode_for(step_id: str, config: Mapping[str, Any], ctx: Any) -> str:
    """The step's level: the stronger of its own ``verify:`` and the run's ``--verify``."""
    asked = [config.get("verify") or "count", getattr(ctx, "verify", None) or "count"]
    for value in asked:
        if value not in MODES:
            raise StepError(step_id, f"verify '{value}' is not one of {', '.join(MODES)}.")
    return "checksum" if "checksum" in asked else "count"


DB_ROWS_HINT = (
    "Something in the target (a trigger, a rule, a storage engine) drops or adds rows; check it"
    " before running again."
)
DB_VALUES_HINT = (
    "A trigger, a default or a column type that rounds or truncates changes what is stored; fix"
    " the column or the data, then run again."
)
FILE_HINT = "The file format did not keep what was written; the old file (if any) is unchanged."


def require_count(
    step_id: str, *, received: int, found: int, target: str, how: str, hint: str = DB_ROWS_HINT
) -> None:
    """Fail unless the target holds exactly the rows received (``how`` says how they were
    counted, e.g. "COPY wrote")."""
    if received != found:
        raise StepError(
            step_id,
            f"verification failed for {target}: received {received:,} row(s) but {how}"
            f" {found:,}; nothing was committed.",
            hint=hint,
        )


def compare(
    step_id: str,
    checksum: ArrowChecksum,
    stored_rows: ColumnSum,
    stored_columns: Callable[[], Mapping[str, ColumnSum]],
    target: str,
    hint: str = DB_VALUES_HINT,
) -> None:
    """Compare the stored rows' checksum with the input's; on a difference compute the stored
    per-column checksums (``stored_columns``, costlier: only then) and fail naming the first
    column that differs."""
    if not checksum.rows:
        raise ValueError("compare() needs an ArrowChecksum made with rows=True")
    if stored_rows == checksum.row_sum:
        return
    compare_columns(step_id, checksum.sums, stored_columns(), target, hint)
    raise StepError(
        step_id,
        f"verification failed for {target}: the stored rows differ from the input's although"
        " every column holds the same values (values moved between rows); nothing was committed.",
        hint=hint,
    )


def compare_columns(
    step_id: str,
    expected: Mapping[str, ColumnSum],
    stored: Mapping[str, ColumnSum],
    target: str,
    hint: str = DB_VALUES_HINT,
) -> None:
    """Fail naming the first column whose stored checksum differs from the input's."""
    for column, want in expected.items():
        got = stored.get(column)
        if got != want:
            raise StepError(
                step_id,
                f"verification failed for {target}: the checksum of column '{column}' differs"
                f" (input {want}; stored {got}): what was stored is not what was received;"
                " nothing was committed.",
                hint=hint,
            )


def record(
    ctx: Any,
    rows: int,
    *,
    mode: str,
    target: str,
    checked: list[str] | None = None,
    unchecked: Mapping[str, str] | None = None,
) -> None:
    """Metric ``rows_verified`` and event ``load_verified`` for a write that passed."""
    ctx.log_metric("rows_verified", rows, "rows")
    fields: dict[str, Any] = {"target": target, "rows": rows, "method": mode}
    if mode == "checksum":
        fields["columns"] = list(checked or [])
        fields["unchecked"] = dict(unchecked or {})
    ctx.log_event("load_verified", **fields)
