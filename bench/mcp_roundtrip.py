"""`osiris mcp serve` over stdio with the SDK's client: start-up, per-call latency, a demo run.

Run from the repository root after scripts/setup.sh:  .venv/bin/python bench/mcp_roundtrip.py
Figures: time from spawning the server to a completed `initialize`; median and 95th percentile
of CALLS round trips of three read-only tools; the bundled movies demo run through the `run`
tool against `osiris run` in a fresh process. See bench/RESULTS-mcp.md for recorded figures.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
OSIRIS = Path(sys.executable).with_name("osiris")
STARTS = 5
CALLS = 50
RUNS = 3


async def start_up(project: Path) -> float:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=str(OSIRIS), args=["mcp", "serve", "--project", str(project)]
    )
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        return time.perf_counter() - started


async def calls_and_runs(project: Path) -> tuple[dict[str, list[float]], list[float]]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    oml = (project / "pipeline.yaml").read_text(encoding="utf-8")
    tools = {
        "components_list": {},
        "oml_validate": {"oml": oml, "path": "pipeline.yaml"},
        "runs_list": {},
    }
    latencies: dict[str, list[float]] = {name: [] for name in tools}
    runs: list[float] = []
    params = StdioServerParameters(
        command=str(OSIRIS), args=["mcp", "serve", "--project", str(project)]
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        for name, arguments in tools.items():
            for _ in range(CALLS):
                started = time.perf_counter()
                result = await client.call_tool(name, arguments)
                latencies[name].append(time.perf_counter() - started)
                assert not result.is_error, result.content[0].text
        for _ in range(RUNS):
            started = time.perf_counter()
            result = await client.call_tool("run", {"path": "pipeline.yaml"})
            runs.append(time.perf_counter() - started)
            assert not result.is_error and '"ok": true' in result.content[0].text
    return latencies, runs


def cli_runs(project: Path) -> list[float]:
    walls = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(
            [str(OSIRIS), "run", "pipeline.yaml"], check=True, capture_output=True, cwd=project
        )
        walls.append(time.perf_counter() - started)
    return walls


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="osiris-mcp-bench-") as tmp:
        project = Path(tmp) / "movies"
        shutil.copytree(ROOT / "examples" / "movies", project)
        starts = [anyio.run(start_up, project) for _ in range(STARTS)]
        latencies, mcp_runs = anyio.run(calls_and_runs, project)
        cli = cli_runs(project)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"start-up to initialized ({STARTS} starts): median {ms(statistics.median(starts))}, best {ms(min(starts))}"
    )
    for name, values in latencies.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:16} ({CALLS} calls): median {ms(statistics.median(values))}, p95 {ms(p95)}")
    print(
        f"movies demo ({RUNS} runs): run tool median {ms(statistics.median(mcp_runs))},"
        f" `osiris run` (new process) median {ms(statistics.median(cli))}"
    )


if __name__ == "__main__":
    main()
