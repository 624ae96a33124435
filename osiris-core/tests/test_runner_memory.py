"""Streaming keeps memory flat: 5M rows peak at about the RSS of 1M rows.

Each size runs in a fresh process (``bench/runner_memory.py --child N``) so ``ru_maxrss`` is that
run's own peak. Figures are recorded in bench/RESULTS-runner.md; this test asserts the shape only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "runner_memory.py"


@pytest.mark.slow
def test_peak_rss_does_not_grow_with_rows():
    spec = importlib.util.spec_from_file_location("runner_memory_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    small = bench.measure(1_000_000)
    large = bench.measure(5_000_000)
    assert (small["rows"], large["rows"]) == (1_000_000, 5_000_000)
    # a held table of 5M rows would add ~100 MiB over the 1M run; streaming adds ~nothing
    assert large["peak_rss_mib"] <= 1.2 * small["peak_rss_mib"] + 16, (small, large)
