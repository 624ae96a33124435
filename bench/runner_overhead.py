"""Per-step overhead of the runner: a 20-step chain of trivial steps versus a 2-step one.

    python bench/runner_overhead.py [--repeat 20]

Each step hands on one 10-row batch (extract → 18 pass-through transforms → count), so the
time is the runner's own: scheduling, thread hand-offs, events/metrics written through
structlog and the masker, session files. Reported: whole-run wall time (median) for 2 and 20
steps, and the overhead per step = (t20 - t2) / 18.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import runner_memory


class PassThrough:
    def run(self, *, step_id, config, inputs, ctx):
        (data,) = inputs.values()
        return {"df": data.reader()}


def registry():
    from bench_registry import COUNTING_WRITER
    from bench_registry import registry as bench_registry

    return bench_registry(
        ("bench.synthetic", "extract", "runner_memory:Synthetic"),
        ("bench.pass", "transform", "runner_overhead:PassThrough"),
        COUNTING_WRITER,
    )


def chain(n: int) -> list[dict]:
    steps = [
        {"id": "s0", "component": "bench.synthetic", "mode": "extract", "config": {"rows": 10}}
    ]
    steps += [
        {"id": f"s{i}", "component": "bench.pass", "mode": "transform", "needs": [f"s{i - 1}"]}
        for i in range(1, n - 1)
    ]
    steps.append(
        {"id": f"s{n - 1}", "component": "bench.count", "mode": "write", "needs": [f"s{n - 2}"]}
    )
    return steps


def timed_runs(n: int, repeat: int, plugins) -> list[float]:
    from osiris.runner.run import run_manifest

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = runner_memory.write_manifest(Path(tmp) / f"c{n}", chain(n))
        for _ in range(repeat):
            start = time.perf_counter()
            result = run_manifest(manifest, logs_dir=Path(tmp) / "logs", registry=plugins)
            times.append(time.perf_counter() - start)
            assert result.ok and result.steps[f"s{n - 1}"]["rows"] == 10, result.error
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    plugins = registry()
    timed_runs(20, 3, plugins)  # warm imports and caches
    t2 = statistics.median(timed_runs(2, args.repeat, plugins))
    t20 = statistics.median(timed_runs(20, args.repeat, plugins))
    print(f"# {platform.platform()}, Python {platform.python_version()}, median of {args.repeat}")
    print(f" 2-step run: {t2 * 1000:7.1f} ms")
    print(f"20-step run: {t20 * 1000:7.1f} ms")
    print(
        f"per-step overhead: {(t20 - t2) / 18 * 1000:.2f} ms  (whole 20-step run / 20:"
        f" {t20 / 20 * 1000:.2f} ms)"
    )


if __name__ == "__main__":
    main()
