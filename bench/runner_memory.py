"""Peak RSS of a streamed run: a synthetic extractor feeding a counting writer.

    python bench/runner_memory.py                # 1M and 5M rows, each in a fresh process
    python bench/runner_memory.py --child 5000000  # one measurement (used by the parent)

Each measurement runs in its own process so ``ru_maxrss`` (the process's peak resident set)
belongs to that run alone. If the runner streams batch by batch, 5M rows peak at about the
same RSS as 1M rows; if anything held the table, the 5M peak would be ~5x larger.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH = 65_536


class Synthetic:
    """Extractor: (id int64, amount float64, label string) rows built only when pulled."""

    def run(self, *, step_id, config, inputs, ctx):
        import pyarrow as pa
        import pyarrow.compute as pc

        rows = int(config["rows"])
        schema = pa.schema([("id", pa.int64()), ("amount", pa.float64()), ("label", pa.string())])

        def batches():
            for start in range(0, rows, BATCH):
                ids = pa.array(range(start, min(start + BATCH, rows)), pa.int64())
                yield pa.record_batch(
                    [ids, pc.multiply(ids.cast(pa.float64()), 0.5), pc.cast(ids, pa.string())],
                    schema=schema,
                )
            ctx.log_metric("rows_read", rows, unit="rows")

        return {"df": pa.RecordBatchReader.from_batches(schema, batches())}


def registry():
    from bench_registry import COUNTING_WRITER
    from bench_registry import registry as bench_registry

    return bench_registry(
        ("bench.synthetic", "extract", "runner_memory:Synthetic"), COUNTING_WRITER
    )


def write_manifest(out: Path, steps: list[dict]) -> Path:
    """A compiled directory by hand (the compiler's output contract)."""
    (out / "cfg").mkdir(parents=True)
    entries = []
    for step in steps:
        (out / "cfg" / f"{step['id']}.json").write_text(json.dumps(step.get("config", {})))
        entries.append(
            {
                "id": step["id"],
                "component": step["component"],
                "mode": step["mode"],
                "cfg_path": f"cfg/{step['id']}.json",
                "needs": step.get("needs", []),
            }
        )
    import yaml

    (out / "manifest.yaml").write_text(
        yaml.safe_dump({"pipeline": {"name": "bench", "source": None}, "steps": entries})
    )
    return out / "manifest.yaml"


def child(rows: int) -> dict:
    run_once(1_000)  # warm-up: first-use imports (pyarrow.compute, ...) take seconds, not rows
    return run_once(rows)


def run_once(rows: int) -> dict:
    from osiris.runner.run import run_manifest

    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(
            Path(tmp) / "compiled",
            [
                {
                    "id": "extract",
                    "component": "bench.synthetic",
                    "mode": "extract",
                    "config": {"rows": rows},
                },
                {"id": "count", "component": "bench.count", "mode": "write", "needs": ["extract"]},
            ],
        )
        plugins = registry()
        start = time.perf_counter()
        result = run_manifest(manifest, logs_dir=Path(tmp) / "logs", registry=plugins)
        seconds = time.perf_counter() - start
    assert result.ok, result.error
    assert result.steps["count"]["rows"] == rows, result.steps
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": int(rows / seconds),
    }


def measure(rows: int) -> dict:
    """One measurement in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(rows)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    print(f"# {platform.platform()}, Python {platform.python_version()}, batch {BATCH} rows")
    results = [measure(n) for n in (1_000_000, 5_000_000)]
    for r in results:
        print(
            f"{r['rows']:>10,} rows  peak RSS {r['peak_rss_mib']:>7.1f} MiB"
            f"  {r['seconds']:>6.2f} s  {r['rows_per_s']:>12,} rows/s"
        )
    print(f"5M/1M peak ratio: {results[1]['peak_rss_mib'] / results[0]['peak_rss_mib']:.2f}")


if __name__ == "__main__":
    main()
