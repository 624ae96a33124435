"""``python -m osiris.worker COMPILED_DIR``: run a compiled pipeline and report on stdout.

The remote (e2b) adapter starts this inside the sandbox. It runs the same ``LocalAdapter``
prepare/execute code as a local run and prints one JSON object per line on stdout, already
masked: ``{"kind": "event", "ts", "event", ...fields}`` or ``{"kind": "metric", "ts",
"metric", "value", "unit"?, ...tags}``, ending with ``{"kind": "result", "ok", "exit_code",
"steps", "error"}``. Tracebacks go to ``<run-dir>/osiris.log``. Exit code 0, 1 or 2.

Run-wide options (``ExecutionContext.run_options``) arrive as a JSON object file with
``--run-options FILE``, so a new option needs no new worker argument.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

from osiris.masking import Masker, process_masker


class StdoutSink:
    """A ``RunSink`` printing masked JSON lines; the host side turns them into its session."""

    def __init__(self, run_dir: Path, out: IO[str], masker: Masker | None = None) -> None:
        from osiris.session.paths import new_session_id

        self.id = new_session_id("worker")
        self.dir = run_dir
        self.masker = masker or Masker()
        self._out = out
        self._lock = threading.Lock()
        run_dir.mkdir(parents=True, exist_ok=True)
        self._log = run_dir / "osiris.log"

    def _mask(self, value: Any) -> Any:
        return process_masker.mask_obj(self.masker.mask_obj(value))

    def _print(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def event(self, name: str, **fields: Any) -> None:
        from osiris.session.paths import utc_now_iso

        self._print({"kind": "event", "ts": utc_now_iso(), "event": name, **self._mask(fields)})

    def metric(self, name: str, value: float, unit: str | None = None, **tags: Any) -> None:
        from osiris.session.paths import utc_now_iso

        extra = {"unit": unit} if unit else {}
        self._print(
            {
                "kind": "metric",
                "ts": utc_now_iso(),
                "metric": name,
                "value": value,
                **extra,
                **self._mask(tags),
            }
        )

    def log_exception(self, message: str, exc: BaseException) -> None:
        text = message + "\n" + "".join(traceback.format_exception(exc))
        with self._lock, open(self._log, "a", encoding="utf-8") as log:
            log.write(self._mask(text) + "\n")


def run_compiled(
    compiled_dir: Path,
    run_dir: Path,
    *,
    out: IO[str],
    registry: Any = None,
    max_workers: int | None = None,
    connections_path: Path | None = None,
    run_options: dict[str, Any] | None = None,
) -> int:
    """Run ``compiled_dir`` with the local adapter's code; return the exit code."""
    import yaml

    from osiris.errors import OsirisError
    from osiris.runner.context import ExecutionContext, default_max_workers
    from osiris.runner.local import LocalAdapter

    sink = StdoutSink(run_dir, out)
    result: dict[str, Any] = {"ok": False, "exit_code": 1, "steps": {}, "error": None}
    try:
        if registry is None:
            from osiris.registry import build_registry

            registry = build_registry()
        manifest_path = Path(compiled_dir) / "manifest.yaml"
        ctx = ExecutionContext(
            session=sink,
            registry=registry,
            run_dir=run_dir,
            artifacts_dir=run_dir / "artifacts",
            manifest_path=manifest_path,
            masker=sink.masker,
            max_workers=max_workers or default_max_workers(),
            connections_path=connections_path,
            run_options=dict(run_options or {}),
        )
        adapter = LocalAdapter()
        raw = (
            yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
            if (manifest_path.is_file())
            else {}
        )
        prepared = adapter.prepare(raw, ctx)
        executed = adapter.execute(prepared, ctx)
        adapter.collect(prepared, ctx)  # masks text artifacts, as a local run does
        result.update(
            ok=executed.ok,
            exit_code=0 if executed.ok else 1,
            steps=executed.steps,
            error=executed.error,
        )
    except OsirisError as exc:
        sink.log_exception(str(exc), exc)
        result.update(exit_code=exc.exit_code, error=str(exc))
    except Exception as exc:
        sink.log_exception("worker crashed", exc)
        result.update(error=f"Unexpected {type(exc).__name__}: {exc}.")
    sink._print({"kind": "result", **sink._mask(result)})
    return int(result["exit_code"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m osiris.worker", description=__doc__)
    parser.add_argument("compiled_dir", type=Path)
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path("run"),
        help="where artifacts, spills and osiris.log go (default: ./run)",
    )
    parser.add_argument("--max-workers", type=int, default=None)
    parser.add_argument("--connections", type=Path, default=None)
    parser.add_argument(
        "--run-options",
        type=Path,
        default=None,
        help="JSON object of run-wide options (ExecutionContext.run_options)",
    )
    parser.add_argument(
        "--verify",
        choices=("count", "checksum"),
        default=None,
        help="verification for every writer (osiris run --verify); the run option 'verify'",
    )
    args = parser.parse_args(argv)
    run_options = (
        json.loads(args.run_options.read_text(encoding="utf-8")) if args.run_options else None
    )
    if args.verify:
        run_options = {**(run_options or {}), "verify": args.verify}
    return run_compiled(
        args.compiled_dir,
        args.run_dir,
        out=sys.stdout,
        max_workers=args.max_workers,
        connections_path=args.connections,
        run_options=run_options,
    )


if __name__ == "__main__":
    sys.exit(main())
