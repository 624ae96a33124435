"""The e2b adapter's own overhead, against the local envd-compatible server of the tests.

Runs the same pipelines with `osiris run` (local) and `osiris run --e2b` (the real e2b SDK
against osiris-remote-e2b/tests/e2b_local.py, control-plane path, on this machine), each in a
child process, and reads the phases from the remote session's events: sandbox creation,
upload, install from the wheel cache, the worker's run (execute span, versus the local one),
download. The per-step streaming overhead comes from two pipelines of trivial DuckDB steps
(1 and 101 steps): ((remote101 - local101) - (remote1 - local1)) / 100, which cancels the
worker's interpreter start (each difference is the smallest of the runs: the machine is shared). The network of a hosted sandbox is not in these figures: they are the
adapter's own costs.

    python bench/e2b_overhead.py [--runs 3] [--mysql-rows 1000000] [--no-mysql]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "osiris-remote-e2b" / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from e2b_local import LocalE2B  # noqa: E402

OUT = ROOT / "bench" / "out" / "e2b"


def trivial(steps: int) -> str:
    body = ['oml_version: "0.1.0"', f"name: trivial-{steps}", "steps:"]
    body += [
        "  - id: s0\n    component: duckdb.processor\n    mode: transform\n    needs: []\n"
        "    config: {query: SELECT 1 AS x}"
    ]
    for i in range(1, steps):
        body.append(
            f"  - id: s{i}\n    component: duckdb.processor\n    mode: transform\n"
            f"    needs: [s{i - 1}]\n    config: {{query: SELECT x + 1 AS x FROM df_s{i - 1}}}"
        )
    return "\n".join(body) + "\n"


MYSQL_PIPELINE = """\
oml_version: "0.1.0"
name: bench-e2b-mysql-to-parquet
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config: {{connection: "@mysql.default", table: {table}, batch_size: 10000}}
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config: {{path: out/events.parquet}}
"""


def osiris(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("osiris")), "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"osiris run {args} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def events(logs: Path) -> list[dict]:
    newest = sorted(logs.glob("run_*"))[-1]
    return [json.loads(line) for line in (newest / "events.jsonl").read_text().splitlines()]


def span(evts: list[dict], start: str, end: str) -> float:
    from datetime import datetime

    def at(name: str) -> datetime:
        ts = next(e["ts"] for e in evts if e["event"] == name)
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))

    return (at(end) - at(start)).total_seconds() * 1000


def measure(name: str, pipeline: Path, work: Path, env: dict[str, str]) -> dict:
    local_logs, remote_logs = work / f"logs-local-{name}", work / f"logs-remote-{name}"
    local_wall = osiris([str(pipeline), "--logs-dir", str(local_logs)], work, env)
    remote_wall = osiris(
        [str(pipeline), "--e2b", "--e2b-allow-local-hosts", "--logs-dir", str(remote_logs)],
        work,
        env,
    )
    local, remote = events(local_logs), events(remote_logs)
    phase = {e["event"]: e for e in remote}
    return {
        "name": name,
        "local_wall_s": local_wall,
        "remote_wall_s": remote_wall,
        "local_exec_ms": span(local, "adapter_prepare_complete", "adapter_execute_complete"),
        "remote_exec_ms": span(remote, "adapter_prepare_complete", "adapter_execute_complete"),
        "checks_and_wheels_ms": span(remote, "adapter_prepare_start", "sandbox_created")
        - phase["sandbox_created"]["duration_ms"],
        "create_ms": phase["sandbox_created"]["duration_ms"],
        "upload_ms": phase["upload_complete"]["duration_ms"],
        "upload_bytes": phase["upload_complete"]["bytes"],
        "install_ms": phase["deps_installed"]["duration_ms"],
        "wheel_bytes": phase["deps_installed"]["bytes"],
        "download_ms": phase["artifacts_downloaded"]["duration_ms"],
        "download_bytes": phase["artifacts_downloaded"]["bytes"],
        "steps": sum(1 for e in remote if e["event"] == "step_start"),
    }


def show(r: dict) -> None:
    print(
        f"{r['name']:<22} wall local {r['local_wall_s']:5.2f} s  e2b {r['remote_wall_s']:5.2f} s"
        f" | checks+wheels {r['checks_and_wheels_ms']:5.0f} ms  create {r['create_ms']:4.0f} ms"
        f"  upload {r['upload_ms']:4.0f} ms ({r['upload_bytes']:,} B)"
        f"  install {r['install_ms']:4.0f} ms ({r['wheel_bytes']:,} B)"
        f" | execute local {r['local_exec_ms']:6.0f} ms  e2b {r['remote_exec_ms']:6.0f} ms"
        f" | download {r['download_ms']:4.0f} ms ({r['download_bytes']:,} B)",
        flush=True,
    )


def streaming_per_line(lines: int = 20_000) -> tuple[float, float]:
    """Microseconds per worker line: (through the SDK from the envd, into a session).

    The first: a command in the local sandbox prints ``lines`` lines shaped like the worker's
    (with a flush each, as the worker does); the port rebuilds them from the SDK's chunks. The
    second: the relay turning them into session events (masking, path mapping, JSON lines).
    """
    from osiris.registry import build_registry
    from osiris.runner.context import ExecutionContext
    from osiris.session import Session
    from osiris_remote_e2b.relay import PathMap, Relay
    from osiris_remote_e2b.sandbox import open_e2b_sandbox

    line = json.dumps(
        {"kind": "event", "ts": "2026-01-01T00:00:00.000Z", "event": "step_complete",
         "step_id": "s1", "rows": 1, "duration_ms": 3, "output": "streamed"}
    )  # fmt: skip
    program = (
        "import sys\n"
        f"line = {line!r} + '\\n'\n"
        f"for _ in range({lines}):\n    sys.stdout.write(line); sys.stdout.flush()\n"
    )
    sandbox = open_e2b_sandbox(template=None, timeout_s=600, api_key=os.environ.get("E2B_API_KEY"))
    try:
        sandbox.upload("osiris/lines.py", program.encode())
        received: list[str] = []
        started = time.perf_counter()
        sandbox.run("python3 osiris/lines.py", on_line=received.append)
        transport = (time.perf_counter() - started) / lines * 1e6
        assert len(received) == lines
    finally:
        sandbox.close()
    with tempfile.TemporaryDirectory() as folder:
        session = Session(Path(folder))
        ctx = ExecutionContext(
            session=session,
            registry=build_registry(),
            run_dir=session.dir,
            artifacts_dir=session.artifacts_dir,
            manifest_path=session.dir / "manifest.yaml",
            masker=session.masker,
        )
        relay = Relay(ctx, PathMap([("/home/user/osiris/run", str(session.dir))]))
        started = time.perf_counter()
        for text in received:
            relay(text)
        relayed = (time.perf_counter() - started) / lines * 1e6
        session.close()
    return transport, relayed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mysql-rows", type=int, default=1_000_000)
    parser.add_argument("--no-mysql", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} ·"
        f" load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=OUT))
    local_e2b = LocalE2B(work / "sandbox-home", debug=False)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OSIRIS_", "E2B_"))
    }
    env |= local_e2b.env | {"OSIRIS_E2B_WHEEL_CACHE_DIR": str(OUT / "wheel-cache")}
    try:
        os.environ.update(local_e2b.env)
        transport, relayed = streaming_per_line()
        print(
            f"per worker line: {transport:.1f} µs through the SDK from the envd (command start"
            f" included), {relayed:.1f} µs into the session; a step is ~7 lines",
            flush=True,
        )
        project = work / "project"
        shutil.copytree(ROOT / "examples" / "movies", project)
        for steps in (1, 101):
            (work / f"trivial{steps}.yaml").write_text(trivial(steps))
        cases = [("movies demo", project / "pipeline.yaml")]
        cases += [(f"trivial {n} steps", work / f"trivial{n}.yaml") for n in (1, 101)]
        if not args.no_mysql:
            from events_table import ensure_events

            table = ensure_events("osiris_bench_mysql", args.mysql_rows)
            (work / "mysql.yaml").write_text(MYSQL_PIPELINE.format(table=table))
            (work / "osiris_connections.yaml").write_text(
                "mysql:\n  default:\n    host: 127.0.0.1\n    port: 3306\n"
                "    database: osiris_bench_mysql\n    user: root\n"
            )
            cases.append((f"mysql->parquet {args.mysql_rows:,}", work / "mysql.yaml"))
        best: dict[str, dict] = {}
        gap: dict[str, float] = {}
        for _ in range(args.runs):
            for name, pipeline in cases:
                result = measure(name, pipeline, work, env)
                show(result)
                key = result["name"]
                if key not in best or result["remote_wall_s"] < best[key]["remote_wall_s"]:
                    best[key] = result
                difference = result["remote_exec_ms"] - result["local_exec_ms"]
                gap[key] = min(gap.get(key, difference), difference)
        per_step = (gap["trivial 101 steps"] - gap["trivial 1 steps"]) / 100
        print("best of each:")
        for result in best.values():
            show(result)
        print(
            f"per-step streaming overhead: {per_step:.2f} ms"
            f" (fixed cost of the worker's start: {gap['trivial 1 steps']:.0f} ms)",
            flush=True,
        )
    finally:
        local_e2b.stop()


if __name__ == "__main__":
    main()
