"""HTML report and AIOP of a 10,000-event session: size, render time, browser load time.

    python bench/report_bench.py [--events 10000] [--repeat 5]

A real run (the runner, its session, the automatic AIOP export): 40 independent branches, each
a source that logs driver events and a writer, so the session has about ``--events`` events.
Measured: the run, `export_aiop` alone, `render_session` (Python), the page's size, and the
time Debian's Chromium takes to load the page offline and draw the events table (navigation
start to the end of the load event, from the page's own Navigation Timing, median of
``--repeat`` fresh pages).
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

BRANCHES = 40
CHROMIUM = "/usr/bin/chromium"


class ChattySource:
    def run(self, *, step_id, config, inputs, ctx):
        import pyarrow as pa

        for i in range(int(config["events"])):
            ctx.log_event("chunk_read", chunk=i, bytes=4096 * i, file=f"part-{i:05d}.csv")
        ctx.log_metric("rows_read", 1000, unit="rows")
        return {"df": pa.table({"id": list(range(1000))})}


def registry():
    from bench_registry import COUNTING_WRITER
    from bench_registry import registry as bench_registry

    return bench_registry(("bench.chatty", "extract", "report_bench:ChattySource"), COUNTING_WRITER)


def write_oml(path: Path, events: int) -> None:
    # 7 run/adapter events, then per branch 2 step_start + 2 step_complete and the source's own
    per_source = max(0, math.ceil((events - 7) / BRANCHES) - 4)
    lines = ['oml_version: "0.1.0"', "name: report-bench", "steps:"]
    for b in range(BRANCHES):
        lines += [
            f"  - {{id: read-{b:02d}, component: bench.chatty, mode: read,"
            f" config: {{events: {per_source}}}}}",
            f"  - {{id: write-{b:02d}, component: bench.count, mode: write,"
            f" needs: [read-{b:02d}]}}",
        ]
    path.write_text("\n".join(lines) + "\n")


def browser_load_ms(page_path: Path, repeat: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    url = page_path.resolve().as_uri()
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        for _ in range(repeat):
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
            page.goto(url, wait_until="load")
            rows = page.locator("#events-table tbody tr").count()
            assert rows > 0, "events table not drawn"
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return n.loadEventEnd - n.startTime; }"
            )
            out.append(float(timing))
            page.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from osiris.compiler import compile_pipeline
    from osiris.report.export import export_aiop
    from osiris.report.html import render_session
    from osiris.report.model import load_session
    from osiris.runner.run import run_manifest

    with tempfile.TemporaryDirectory(prefix="osiris-report-bench-") as tmp:
        root = Path(tmp)
        write_oml(root / "bench.yaml", args.events)
        reg = registry()
        compiled = compile_pipeline(root / "bench.yaml", root / "build", registry=reg)
        start = time.perf_counter()
        result = run_manifest(compiled.manifest_path, logs_dir=root / "logs", registry=reg)
        run_s = time.perf_counter() - start
        assert result.ok, result.error
        session = result.session_dir
        events = len((session / "events.jsonl").read_text().splitlines())
        export_s = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            files = export_aiop(session, root / "aiop")
            export_s.append(time.perf_counter() - start)
        sizes = {p.relative_to(root / "aiop").as_posix(): p.stat().st_size for p in files}
        render_s = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            html = render_session(load_session(session))
            render_s.append(time.perf_counter() - start)
        page = root / "page.html"
        page.write_text(html, encoding="utf-8")
        load_ms = browser_load_ms(page, args.repeat)

    print(f"machine: {platform.machine()}, {platform.python_version()}, {platform.platform()}")
    print(f"session: {events:,} events, {BRANCHES * 2} steps; run with AIOP export {run_s:.2f} s")
    print(
        f"aiop: export {statistics.median(export_s) * 1000:.0f} ms (median of {args.repeat});"
        f" files {', '.join(f'{k} {v / 1024:.0f} KiB' for k, v in sizes.items())}"
    )
    print(
        f"html: {len(html.encode()) / 1024 / 1024:.2f} MiB, rendered in Python in"
        f" {statistics.median(render_s) * 1000:.0f} ms (median)"
    )
    print(
        f"chromium: load + events table drawn in {statistics.median(load_ms):.0f} ms (median;"
        f" min {min(load_ms):.0f}, max {max(load_ms):.0f})"
    )


if __name__ == "__main__":
    main()
