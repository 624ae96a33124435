"""Driver side of an incremental read: where to start, and the high-water mark of what was read.

A mark is stored as text with its kind (``integer``, ``decimal``, ``date``, ``timestamp``,
``timestamptz``) so it round-trips exactly: no float, no time zone guess. An extractor builds an
``IncrementalRead`` from its config and the value the host handed it (``ctx.incremental``),
binds it to the cursor column's Arrow type before any row moves, filters ``cursor > bound``
(``>=`` with a lookback or an initial value), orders by the cursor, and passes its batches
through ``track``, which refuses NULL cursors and logs the new mark (``incremental_mark``) when
the stream ends. The host commits that mark only after every write step fed by the step
committed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

if TYPE_CHECKING:
    import pyarrow as pa

KINDS = ("integer", "decimal", "date", "timestamp", "timestamptz")
_LOOKBACK = re.compile(
    r"^\s*(\d+)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d|weeks?|w)\s*$", re.I
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Mark:
    """A cursor value as canonical text and its kind (lossless, comparable, JSON-safe)."""

    kind: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mark:
        """Parse a stored or reported mark; ValueError when it is not one (e.g. masked text)."""
        kind, value = data.get("type"), data.get("value")
        if kind not in KINDS or not isinstance(value, str):
            raise ValueError(f"not a cursor mark: {dict(data)!r}")
        mark = cls(kind, value)
        mark.python()  # raises ValueError when the text does not parse
        return mark

    def python(self) -> Any:
        """The value as int, Decimal, date or datetime (aware, UTC, for timestamptz)."""
        if self.kind == "integer":
            return int(self.value)
        if self.kind == "decimal":
            try:
                return Decimal(self.value)
            except InvalidOperation:
                raise ValueError(f"not a decimal: {self.value!r}") from None
        if self.kind == "date":
            return dt.date.fromisoformat(self.value)
        value = dt.datetime.fromisoformat(self.value)
        if (value.tzinfo is not None) != (self.kind == "timestamptz"):
            raise ValueError(f"{self.value!r} does not match kind {self.kind}")
        return value


def mark_of(kind: str, value: Any) -> Mark:
    """The canonical mark of a Python value of ``kind``."""
    if kind == "integer":
        return Mark(kind, str(int(value)))
    if kind == "decimal":
        return Mark(kind, format(Decimal(value), "f"))  # never 1E-7: SQL reads that as a float
    if kind == "date":
        return Mark(kind, value.isoformat())
    if kind == "timestamptz":
        return Mark(kind, value.astimezone(dt.UTC).isoformat(timespec="microseconds"))
    return Mark(kind, value.isoformat(timespec="microseconds"))


def cursor_kind(field: pa.Field) -> tuple[str | None, str]:
    """The mark kind of a column, or ``(None, why it cannot be a cursor)``.

    Unbounded numbers that travel as exact text (field metadata ``osiris.type=numeric``) are
    decimals too.
    """
    import pyarrow.types as t

    arrow_type = field.type
    if _numeric_text(field):
        return "decimal", ""
    if t.is_integer(arrow_type):
        return "integer", ""
    if t.is_decimal(arrow_type):
        return "decimal", ""
    if t.is_date(arrow_type):
        return "date", ""
    if t.is_timestamp(arrow_type):
        return ("timestamptz" if arrow_type.tz else "timestamp"), ""
    if t.is_floating(arrow_type):
        return None, "floats are approximate, so rows near the mark could be skipped"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return None, "text sorts by the server's collation, which the mark cannot follow"
    return None, f"{arrow_type} is not a cursor type (integers, decimals, dates and timestamps are)"


def parse_value(step_id: str, field: str, kind: str, raw: Any) -> Any:
    """``incremental.initial`` (or another config value) as a Python value of ``kind``."""
    problem = f"incremental.{field} {raw!r} is not a valid {kind} for the cursor column"
    try:
        if kind == "integer":
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError
            return int(raw)
        if kind == "decimal":
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw))
            if not value.is_finite():
                raise ValueError
            return value
        if kind == "date":
            if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
                return raw
            return dt.date.fromisoformat(str(raw))
        value = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
    except (ValueError, TypeError, InvalidOperation):
        raise StepError(step_id, problem + ".", hint=_VALUE_HINT[kind]) from None
    if kind == "timestamptz":
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if value.tzinfo is not None:
        raise StepError(
            step_id,
            f"incremental.{field} {raw!r} has a time zone, but the cursor column is a timestamp"
            " without time zone.",
            hint="Write the value without an offset, as stored in the column.",
        )
    return value


_VALUE_HINT = {
    "integer": "Write a whole number, e.g. 1000.",
    "decimal": 'Write a number, e.g. "12.50" (quoted keeps every digit).',
    "date": 'Write an ISO date, e.g. "2024-01-31".',
    "timestamp": 'Write an ISO timestamp, e.g. "2024-01-31T08:00:00".',
    "timestamptz": 'Write an ISO timestamp, e.g. "2024-01-31T08:00:00Z" (UTC when no offset).',
}


def parse_lookback(step_id: str, kind: str, raw: Any) -> Any:
    """``incremental.lookback``: a number for numeric cursors, ``"N days|hours|…"`` for temporal."""
    if kind in ("integer", "decimal"):
        value = parse_value(step_id, "lookback", kind, raw)
        if value < 0:
            raise StepError(step_id, f"incremental.lookback {raw!r} must not be negative.")
        return value
    match = _LOOKBACK.match(str(raw)) if isinstance(raw, str) else None
    if match is None:
        raise StepError(
            step_id,
            f"incremental.lookback {raw!r} is not a duration for a {kind} cursor.",
            hint='Write it with a unit, e.g. "2 days", "6 hours" or "30 minutes".',
        )
    seconds = int(match[1]) * _UNIT_SECONDS[match[2][0].lower()]
    if kind == "date" and seconds % 86400:
        raise StepError(
            step_id, f"incremental.lookback {raw!r}: a date cursor moves in whole days."
        )
    return dt.timedelta(seconds=seconds)


class IncrementalRead:
    """One step's incremental read: the bound, its operator and the running maximum."""

    def __init__(
        self, step_id: str, spec: Mapping[str, Any], handed: Mapping[str, Any] | None
    ) -> None:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("cursor"), str):
            raise StepError(step_id, "incremental needs cursor: COLUMN.")
        self.step_id = step_id
        self.column: str = spec["cursor"]
        self.spec = spec
        last = (handed or {}).get("last")
        try:
            self.last = Mark.from_dict(last) if last else None
        except ValueError as exc:
            raise StepError(
                step_id,
                f"the stored mark of cursor '{self.column}' cannot be read ({exc}).",
                hint=f"Run `osiris state reset PIPELINE --step {step_id}` or use --full-refresh.",
            ) from None
        self.kind: str | None = None
        self.lower: Any = None
        """The bound as a Python value (int, Decimal, date, datetime), or None: read everything."""
        self.op = ">"
        self.rows = 0
        self._max: Any = None
        self._text_numbers = False

    # -- before data moves ------------------------------------------------------------------------
    def bind(self, field: pa.Field | None) -> None:
        """Check the column's type (``None``: not in the result) and compute the bound."""
        if field is None:
            raise StepError(
                self.step_id,
                f"incremental cursor column '{self.column}' is not in the result.",
                hint="Name a column the table or query returns.",
            )
        kind, why = cursor_kind(field)
        self._text_numbers = _numeric_text(field)
        if kind is None:
            raise StepError(
                self.step_id,
                f"incremental cursor column '{self.column}' cannot be a cursor: {why}.",
                hint="Use an integer, decimal, date or timestamp column that only grows.",
            )
        self.kind = kind
        if self.last is not None and self.last.kind != kind:
            raise StepError(
                self.step_id,
                f"the stored mark of cursor '{self.column}' is of type {self.last.kind}"
                f" ({self.last.value}), but the column is now of type {kind}.",
                hint="Run once with --full-refresh, or `osiris state reset PIPELINE --step"
                f" {self.step_id}`.",
            )
        lookback = self.spec.get("lookback")
        if self.last is not None:
            self.lower, self._max = self.last.python(), self.last.python()
            if lookback is not None:
                try:
                    with localcontext(prec=1000):  # DECIMAL(65) minus a lookback: every digit
                        self.lower -= parse_lookback(self.step_id, kind, lookback)
                except OverflowError:  # before the first representable date: read everything
                    self.lower = None
                self.op = ">="
        elif self.spec.get("initial") is not None:
            self.lower = parse_value(self.step_id, "initial", kind, self.spec["initial"])
            self.op = ">="
        elif lookback is not None:
            parse_lookback(self.step_id, kind, lookback)  # a bad value fails on the first run too

    @property
    def bound(self) -> Mark | None:
        return None if self.lower is None or self.kind is None else mark_of(self.kind, self.lower)

    def start_event(self, ctx: Any) -> None:
        bound = self.bound
        ctx.log_event(
            "incremental_start",
            cursor=self.column,
            type=self.kind,
            op=self.op if bound else None,
            bound=bound.value if bound else None,
        )

    def null_error(self, rows: int | None = None) -> StepError:
        count = f"{rows} row(s) have" if rows else "rows have"
        return StepError(
            self.step_id,
            f"incremental cursor column '{self.column}': {count} NULL there, which no"
            " incremental read would ever pick up.",
            hint="Fill the column (NOT NULL), filter NULLs out in the query, or choose another"
            " cursor.",
        )

    # -- while and after reading ------------------------------------------------------------------
    def track(self, batches: Iterator[pa.RecordBatch], ctx: Any) -> Iterator[pa.RecordBatch]:
        """Pass batches on, refusing NULL cursors; log ``incremental_mark`` at the end."""
        import pyarrow.compute as pc

        for batch in batches:
            column = batch.column(batch.schema.get_field_index(self.column))
            if column.null_count:
                raise self.null_error(column.null_count)
            if len(column):
                if self._text_numbers:
                    top = max(Decimal(v) for v in column.to_pylist())
                else:
                    top = _python(pc.max(column))
                if self._max is None or top > self._max:
                    self._max = top
            self.rows += batch.num_rows
            yield batch
        mark = self.mark
        ctx.log_event(
            "incremental_mark",
            cursor=self.column,
            type=self.kind,
            value=mark.value if mark else None,
            rows=self.rows,
        )

    @property
    def mark(self) -> Mark | None:
        """The new high-water mark: the largest cursor read, never below the previous mark."""
        if self._max is None or self.kind is None:
            return None
        return mark_of(self.kind, self._max)


def _numeric_text(field: pa.Field) -> bool:
    import pyarrow.types as t

    return t.is_string(field.type) and (field.metadata or {}).get(b"osiris.type") == b"numeric"


def _python(scalar: pa.Scalar) -> Any:
    """A cursor scalar as Python without losing digits (nanoseconds are refused, not cut)."""
    import pyarrow as pa

    if pa.types.is_timestamp(scalar.type) and scalar.type.unit == "ns":
        scalar = scalar.cast(pa.timestamp("us", scalar.type.tz), safe=True)
    value = scalar.as_py()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value


def incremental_of(step_id: str, config: Mapping[str, Any], ctx: Any) -> IncrementalRead | None:
    """The step's ``IncrementalRead``, or None when its config has no ``incremental``."""
    spec = config.get("incremental")
    if spec is None:
        return None
    return IncrementalRead(step_id, spec, getattr(ctx, "incremental", None))
