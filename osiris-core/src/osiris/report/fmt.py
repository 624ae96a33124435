"""Small text helpers shared by the report's HTML modules (numbers, times, sizes, blocks)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from osiris.report.model import Record, parse_ts

FIELD_TEXT_LIMIT = 2000
"""Characters of one event's fields shown in a table (the session has them all)."""


def pre(title: str, text: str, *, open_: bool = False) -> str:
    """A folding block of preformatted text (OML, manifest, configs)."""
    return (
        f"<details{' open' if open_ else ''}><summary>{escape(title)}</summary>"
        f"<pre>{escape(text)}</pre></details>"
    )


def oml_of(record: Record) -> str | None:
    """The OML text an event carries (a chat's proposal), if any."""
    value = record.data.get("oml")
    return value if isinstance(value, str) and value.strip() else None


def fields_text(record: Record) -> str:
    """An event's own fields as one line of JSON, cut at ``FIELD_TEXT_LIMIT`` characters."""
    fields = {
        k: v for k, v in record.data.items() if k not in ("ts", "session", "event", "step_id")
    }
    text = compact_json(fields)
    return text if len(text) <= FIELD_TEXT_LIMIT else text[:FIELD_TEXT_LIMIT] + " …"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


def number(value: Any) -> str:
    """``1,234``; a fraction keeps two decimals; anything but a number is blank."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def millis(value: Any) -> str:
    return f"{value:,} ms" if isinstance(value, int) else ""


def seconds(ms: Any) -> str:
    return f"{ms / 1000:.2f} s" if isinstance(ms, int | float) else ""


def size(n: int) -> str:
    """A file size: ``512 B``, ``3.4 KB``, ``1.1 MB``."""
    amount = float(n)
    for unit in ("B", "KB", "MB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def when(ts: str) -> str:
    """An event timestamp as ``2026-12-02 04:05:11 UTC``."""
    moment = parse_ts(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ts
