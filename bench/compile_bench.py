"""Cold start of `osiris --help` and compile time of a generated 50-step pipeline.

Run from the repository root after scripts/setup.sh:  .venv/bin/python bench/compile_bench.py
Each command runs in a fresh process RUNS times; the script prints best and median wall time and
the CPU time (user + system) of the child, which other load on the machine disturbs much less.
See bench/RESULTS-core.md for recorded figures.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 10
STEPS = 50


def timed(args: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fifty_step_pipeline(steps: int = STEPS) -> str:
    """One generating step, then transforms that each need one or two earlier steps."""
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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(label: str, samples: list[tuple[float, float]]) -> None:
    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    print(
        f"{label}: wall best {ms(min(wall))}, median {ms(statistics.median(wall))};"
        f" CPU best {ms(min(cpu))}, median {ms(statistics.median(cpu))} ({len(samples)} runs)"
    )


def main() -> None:
    osiris = str(Path(sys.executable).parent / "osiris")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    timed([osiris, "--help"])  # warm the OS file cache; "cold" means a fresh interpreter
    report("osiris --help", [timed([osiris, "--help"]) for _ in range(RUNS)])
    report(
        "python -c 'import osiris'",
        [timed([sys.executable, "-c", "import osiris"]) for _ in range(RUNS)],
    )

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        oml = work / "pipeline.yaml"
        oml.write_text(fifty_step_pipeline())
        out = str(work / "compiled")
        cli = [timed([osiris, "compile", str(oml), "--out", out], cwd=work) for _ in range(RUNS)]
        report(f"osiris compile, {STEPS} steps (whole process: start, plugins, registry)", cli)

        from osiris.compiler import compile_pipeline
        from osiris.registry import build_registry

        registry = build_registry()
        in_process = []
        for _ in range(RUNS):
            wall, cpu = time.perf_counter(), time.process_time()
            compile_pipeline(oml, work / "inproc", registry=registry)
            in_process.append((time.perf_counter() - wall, time.process_time() - cpu))
        report(f"compile_pipeline, {STEPS} steps (in process, registry already built)", in_process)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
