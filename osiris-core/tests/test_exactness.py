"""osiris.exactness: the first value a narrower target column would round."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
from osiris.exactness import beyond_scale, beyond_second_digits, not_single_precision, not_whole


def test_beyond_scale_finds_the_first_extra_digit_of_decimals_and_floats():
    decimals = pa.array([Decimal("1.2300"), None, Decimal("1.2345")], pa.decimal128(12, 4))
    assert beyond_scale(decimals, 2) == (2, "(1.2345) has more than 2 decimal places")
    assert beyond_scale(decimals, 4) is None
    floats = pa.array([0.5, float("nan"), 0.125, None])
    assert beyond_scale(floats, 2) == (2, "(0.125) has more than 2 decimal places")
    assert beyond_scale(pa.array([0.1, 2.5, float("inf")]), 1) is None
    wide = pa.array([Decimal("1" * 60 + ".10")], pa.decimal256(70, 2))  # beyond any context
    assert beyond_scale(wide, 1) is None and beyond_scale(wide, 0) is not None


def test_not_whole_for_integer_columns():
    assert not_whole(pa.array([1.0, -2.0, None, 3.5])) == (
        3,
        "(3.5) has a fraction the integer column would round away",
    )
    assert not_whole(pa.array([Decimal("4.00")], pa.decimal128(5, 2))) is None
    assert not_whole(pa.array([1, 2], pa.int64())) is None


def test_beyond_second_digits_for_timestamps_times_and_durations():
    ts = pa.array([1_000_000, None, 1_000_500], pa.timestamp("us"))
    assert beyond_second_digits(ts, 3)[0] == 2
    assert beyond_second_digits(ts, 6) is None
    before_1970 = pa.array([-1_500_000], pa.timestamp("us"))
    assert beyond_second_digits(before_1970, 0)[0] == 0
    assert beyond_second_digits(pa.array([-2_000_000], pa.duration("us")), 0) is None
    assert beyond_second_digits(pa.array([1], pa.timestamp("ns")), 6)[0] == 0
    assert beyond_second_digits(pa.array(["x"]), 0) is None


def test_not_single_precision_for_float_columns():
    assert not_single_precision(pa.array([0.5, None, float("inf"), 0.1])) == (
        3,
        "(0.1) has more precision than the single-precision column keeps",
    )
    assert not_single_precision(pa.array([0.1], pa.float32())) is None  # already single


def test_beyond_second_digits_for_month_day_nano_intervals():
    mdn = pa.month_day_nano_interval()
    values = [pa.scalar(v, mdn).as_py() for v in ((1, 2, 3_000), (0, 0, 1_500))]
    intervals = pa.array([None, *values], mdn)
    assert beyond_second_digits(intervals, 6) == (
        2,
        "(0 months 0 days 1500 ns) is more precise than the column (6 digits of a second)",
    )
    assert beyond_second_digits(intervals.slice(0, 2), 6) is None
