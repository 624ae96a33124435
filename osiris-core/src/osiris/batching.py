"""How many rows a source should fetch next, so a batch is bounded by bytes as well as rows.

Extractors read ``batch_size`` rows at a time, but rows can be wide (long texts, blobs, JSON
documents): 10,000 rows of 1 MiB would be a 10 GiB batch. A source that cannot know its row
widths in advance fetches a small first batch, then sizes every next fetch from the bytes per
row it has seen, so memory stays flat however wide the rows are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_BYTES = 64 * 1024 * 1024
"""About how much data one batch may hold."""
FIRST_FETCH = 100
"""Rows in the first fetch, before any row width is known."""


def first_fetch(max_rows: int) -> int:
    """Rows to fetch first: few, since the rows' width is not known yet."""
    return max(1, min(max_rows, FIRST_FETCH))


def next_fetch(batch: pa.RecordBatch, max_rows: int) -> int:
    """Rows to fetch next so that a batch of rows like ``batch`` stays near ``BATCH_BYTES``."""
    row_bytes = max(1, batch.nbytes // max(1, len(batch)))
    return max(1, min(max_rows, BATCH_BYTES // row_bytes))
