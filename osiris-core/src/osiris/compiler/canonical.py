"""Canonical JSON and ``sha256:`` fingerprints: the same data always gives the same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys, UTF-8 text kept as is: what fingerprints hash."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )


def pretty_json(value: Any) -> str:
    """The file form: sorted keys, 2-space indent, trailing newline."""
    return (
        json.dumps(
            value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False, default=_default
        )
        + "\n"
    )


def fingerprint(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _default(value: Any) -> Any:
    """Dates in component specs (``yaml.safe_load`` makes them objects) hash as ISO text."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
