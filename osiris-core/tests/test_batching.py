"""osiris.batching: fetch sizes bounded by rows and by bytes."""

from __future__ import annotations

import pyarrow as pa
from osiris.batching import BATCH_BYTES, first_fetch, next_fetch


def test_the_first_fetch_is_small_but_never_more_than_asked():
    assert first_fetch(10_000) == 100
    assert first_fetch(7) == 7
    assert first_fetch(0) == 1


def test_wide_rows_shrink_the_next_fetch_and_narrow_rows_keep_the_row_limit():
    wide = pa.record_batch({"b": pa.array([b"x" * 1_000_000] * 4, pa.binary())})
    assert next_fetch(wide, 10_000) == BATCH_BYTES // (wide.nbytes // 4) == 67  # ~1 MB a row
    narrow = pa.record_batch({"n": pa.array(range(1000), pa.int64())})
    assert next_fetch(narrow, 10_000) == 10_000


def test_a_row_bigger_than_the_budget_still_fetches_one_row():
    huge = pa.record_batch({"b": pa.array([b"x" * (BATCH_BYTES + 1)], pa.binary())})
    assert next_fetch(huge, 10_000) == 1
