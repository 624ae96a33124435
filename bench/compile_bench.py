"""Cold start of `osiris --help` and compile time of a generated 50-step pipeline.

Run from the repository root after scripts/setup.sh:  .venv/bin/python bench/compile_bench.py
Prints best and median of repeated runs; see bench/RESULTS-core.md for recorded figures.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 10
STEPS = 50


def timed(args: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def fifty_step_pipeline(steps: int = STEPS) -> str:
    """One generating step, then a fan of transforms: each needs one or two earlier steps."""
    lines = ['oml_version: "0.1.0"', "name: bench-fifty", "params: {rows: 1000}", "steps:"]
    lines += [
        "  - id: s00",
        "    component: duckdb.processor",
        "    mode: transform",
        "    needs: []",
        "    config: {query: 'SELECT range AS n FROM range(${params.rows})'}",
    ]
    for i in range(1, steps):
        needs = sorted({f"s{(i - 1):02d}", f"s{(i // 2):02d}"})
        tables = " UNION ALL ".join(f"SELECT n FROM df_{n}" for n in needs)
        lines += [
            f"  - id: s{i:02d}",
            "    component: duckdb.processor",
            "    mode: transform",
            f"    needs: [{', '.join(needs)}]",
            f"    config: {{query: 'SELECT n + {i} AS n FROM ({tables}) WHERE n % 7 <> {i % 7}'}}",
        ]
    return "\n".join(lines) + "\n"


def report(label: str, samples: list[float]) -> str:
    return f"{label}: best {min(samples) * 1000:.0f} ms, median {statistics.median(samples) * 1000:.0f} ms ({len(samples)} runs)"


def main() -> None:
    bindir = Path(sys.executable).parent
    osiris = str(bindir / "osiris")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    )

    timed([osiris, "--help"])  # warm the OS file cache; "cold" means a fresh interpreter
    print(report("osiris --help", [timed([osiris, "--help"]) for _ in range(RUNS)]))
    print(
        report(
            "python -c 'import osiris'",
            [timed([sys.executable, "-c", "import osiris"]) for _ in range(RUNS)],
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        oml = work / "pipeline.yaml"
        oml.write_text(fifty_step_pipeline())
        cli = [
            timed([osiris, "compile", str(oml), "--out", str(work / "compiled")], cwd=work)
            for _ in range(RUNS)
        ]
        print(report(f"osiris compile ({STEPS} steps, whole CLI process)", cli))

        from osiris.compiler import compile_pipeline
        from osiris.registry import build_registry

        registry = build_registry()
        in_process = []
        for _ in range(RUNS):
            start = time.perf_counter()
            compile_pipeline(oml, work / "inproc", registry=registry)
            in_process.append(time.perf_counter() - start)
        print(report(f"compile_pipeline ({STEPS} steps, in process, registry built)", in_process))


if __name__ == "__main__":
    main()
