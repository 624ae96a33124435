"""osiris.verify: the verification level, the count check, and the Arrow-side checksums (their
definition re-derived here with hashlib, independent of DuckDB)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from decimal import Decimal

import pyarrow as pa
import pytest
from osiris.context import StepContext
from osiris.errors import StepError
from osiris.verify import ArrowChecksum, ColumnSum, compare, mode_for, require_count


def _hash(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def _sums(table: pa.Table, chunk: int = 3) -> ArrowChecksum:
    checksum = ArrowChecksum(table.schema)
    for batch in table.to_batches(max_chunksize=chunk):
        checksum.update(batch)
    checksum.close()
    return checksum


def _ctx(tmp_path, verify=None) -> StepContext:
    return StepContext(step_id="w", artifacts_dir=tmp_path, base_dir=tmp_path, verify=verify)


@pytest.mark.parametrize(
    ("config", "run", "expected"),
    [({}, None, "count"), ({"verify": "checksum"}, None, "checksum"),
     ({}, "checksum", "checksum"), ({"verify": "count"}, "checksum", "checksum"),
     ({"verify": "checksum"}, "count", "checksum")],
)  # fmt: skip
def test_the_stronger_level_wins(tmp_path, config, run, expected):
    assert mode_for("w", config, _ctx(tmp_path, run)) == expected


def test_an_unknown_level_names_the_value(tmp_path):
    with pytest.raises(StepError, match="verify 'md5' is not one of count, checksum"):
        mode_for("w", {"verify": "md5"}, _ctx(tmp_path))


def test_count_mismatch_names_both_counts():
    with pytest.raises(StepError, match=r"received 1,000 row\(s\) but COPY wrote 999"):
        require_count("w", received=1000, found=999, target="public.t", how="COPY wrote")
    require_count("w", received=5, found=5, target="public.t", how="COPY wrote")


def test_checksums_are_md5_of_the_canonical_text_summed():
    values = ["a", "Zoë 🎬", "", None, "a"]  # a duplicate counts twice; NULL is not hashed
    checksum = _sums(pa.table({"s": values}))
    assert checksum.sums == {"s": ColumnSum(4, sum(_hash(v) for v in values if v is not None))}
    rows = [f"{len(v.encode())}:{v}" if v is not None else "N" for v in values]
    assert checksum.row_sum == ColumnSum(5, sum(_hash(r) for r in rows))


def test_order_and_batching_do_not_matter():
    table = pa.table(
        {"n": list(range(100)), "f": [i / 7 for i in range(100)], "s": [str(i) for i in range(100)]}
    )
    shuffled = table.take(random.Random(5).sample(range(100), 100))
    one, other = _sums(table, 7), _sums(shuffled, 13)
    assert one.sums == other.sums and one.row_sum == other.row_sum
    changed = table.set_column(1, "f", pa.array([i / 7 for i in range(99)] + [1e300]))
    assert _sums(changed).sums["f"] != one.sums["f"] and _sums(changed).sums["n"] == one.sums["n"]


def test_the_python_path_matches_duckdb():
    """Decimals wider than 38 digits and nanosecond timestamps are made in Python; the same
    values through DuckDB give the same sums."""
    decimals = [Decimal("1.50"), Decimal("-0.05"), Decimal("0.00"), None]
    narrow = _sums(pa.table({"d": pa.array(decimals, pa.decimal128(12, 2))}))
    wide = _sums(pa.table({"d": pa.array(decimals, pa.decimal256(60, 2))}))
    assert narrow.sums == wide.sums and narrow.row_sum == wide.row_sum
    stamps = [dt.datetime(2024, 1, 1, 0, 0, 0, 1500), dt.datetime(1970, 1, 1), None]
    micro = _sums(pa.table({"t": pa.array(stamps, pa.timestamp("us"))}))
    nano = pa.array(stamps, pa.timestamp("us")).cast(pa.timestamp("ns"))
    assert _sums(pa.table({"t": nano})).sums == micro.sums
    sub_micro = pa.compute.add(nano.cast(pa.int64()), 1).cast(pa.timestamp("ns"))
    assert _sums(pa.table({"t": sub_micro})).sums != micro.sums
    expected = "2024-01-01 00:00:00.001500001"
    assert _sums(pa.table({"t": sub_micro.slice(0, 1)})).sums["t"].total == _hash(expected)


def test_unsupported_types_are_reported_not_hashed():
    table = pa.table({"n": [1], "l": pa.array([[1, 2]]), "tm": pa.array([dt.time(1, 2)])})
    checksum = _sums(table)
    assert [c.name for c in checksum.columns] == ["n"]
    assert set(checksum.unchecked) == {"l", "tm"}


def test_compare_names_the_column_that_differs():
    table = pa.table({"a": [1, 2], "b": ["x", "y"]})
    checksum = _sums(table)
    compare("w", checksum, checksum.row_sum, lambda: pytest.fail("not needed"), "t")
    changed = _sums(table.set_column(1, "b", pa.array(["x", "Y"])))
    with pytest.raises(StepError, match=r"the checksum of column 'b' differs \(input 2 values"):
        compare("w", checksum, changed.row_sum, lambda: changed.sums, "t")
    swapped = _sums(pa.table({"a": [1, 2], "b": ["y", "x"]}))  # same columns, other rows
    with pytest.raises(StepError, match="values moved between rows"):
        compare("w", checksum, swapped.row_sum, lambda: swapped.sums, "t")


def test_half_floats_fixed_binary_and_dictionaries_are_read_like_their_plain_types():
    plain = _sums(pa.table({"f": pa.array([0.5, 1.0, None], pa.float32()), "b": [b"ab", b"cd", None],
                            "s": ["x", "y", "x"]}))  # fmt: skip
    other = _sums(pa.table({
        "f": pa.array([0.5, 1.0, None], pa.float32()).cast(pa.float16()),
        "b": pa.array([b"ab", b"cd", None], pa.binary(2)),
        "s": pa.array(["x", "y", "x"]).dictionary_encode(),
    }))  # fmt: skip
    assert other.sums == plain.sums and other.row_sum == plain.row_sum
