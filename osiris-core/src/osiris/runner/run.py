"""One run from start to status.json: session events around the adapter's three phases."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import InvalidInputError, OsirisError

if TYPE_CHECKING:
    from osiris.registry import Registry
    from osiris.session import Session
    from osiris.session.session import Listener


@dataclass
class RunResult:
    """What the CLI reports: outcome, per-step results, where the session is."""

    ok: bool
    exit_code: int
    session_id: str
    session_dir: Path
    pipeline: str | None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "session": self.session_id,
            "session_dir": str(self.session_dir),
            "pipeline": self.pipeline,
            "steps": self.steps,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def open_session(
    logs_dir: Path | str | None = None,
    *,
    source: str | None = None,
    adapter: str = "local",
    listeners: tuple[Listener, ...] = (),
) -> Session:
    """Open ``logs/<session_id>/`` and write ``run_start`` (listeners see it too)."""
    from osiris.session import Session, resolve_logs_dir
    from osiris.session.paths import logs_dir_problem

    root = resolve_logs_dir(logs_dir)
    hint = "Pass --logs-dir DIR or set OSIRIS_LOGS_DIR to a directory."
    problem = logs_dir_problem(root)
    if problem:
        raise InvalidInputError(problem, hint=hint)
    try:
        session = Session(root)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot create a session under {root}: {exc.strerror}.", hint=hint
        ) from None
    session.listeners.extend(listeners)
    session.event("run_start", source=source, adapter=adapter)
    return session


def run_in_session(
    session: Session,
    manifest_path: Path,
    *,
    registry: Registry | None = None,
    adapter: str = "local",
    max_workers: int | None = None,
    connections_path: Path | None = None,
    verify: str | None = None,
) -> RunResult:
    """Run a compiled manifest inside an open session; always writes status.json and closes it."""
    from osiris.runner.context import ExecutionContext, default_max_workers

    steps: dict[str, dict[str, Any]] = {}
    try:
        from osiris.runner.manifest import load_manifest

        manifest = load_manifest(manifest_path)
        session.pipeline = manifest.name
        steps = {  # until execution reports, every step is one that did not run
            s.id: {
                "status": "skipped",
                "rows": None,
                "duration_ms": None,
                "error": "the run stopped before this step started",
            }
            for s in manifest.steps
        }
        session.copy_compiled(manifest.compiled_dir, manifest.path)
        if registry is None:
            from osiris.registry import build_registry

            registry = build_registry()
        ctx = ExecutionContext(
            session=session,
            registry=registry,
            run_dir=session.dir,
            artifacts_dir=session.artifacts_dir,
            manifest_path=manifest.path,
            masker=session.masker,
            max_workers=max_workers or default_max_workers(),
            connections_path=connections_path,
            adapter=adapter,
            plan=manifest,
            verify=verify,
        )
        provided = registry.adapters.get(adapter)
        adapter_obj = registry.adapter(adapter)()
        session.event(
            "adapter_selected",
            adapter=adapter,
            pipeline=manifest.name,
            distribution=provided.distribution if provided else None,
            max_workers=ctx.max_workers,
        )
        session.event("adapter_prepare_start", adapter=adapter, steps=len(manifest.steps))
        prepared = adapter_obj.prepare(manifest.raw, ctx)
        session.event("adapter_prepare_complete", adapter=adapter)
        result = adapter_obj.execute(prepared, ctx)
        steps.update(result.steps)
        counts = _counts(steps)
        session.event("adapter_execute_complete", adapter=adapter, ok=result.ok, **counts)
        collected = adapter_obj.collect(prepared, ctx)
        session.event("adapter_collect_complete", adapter=adapter, files=len(collected.files))
        error = None if result.ok else _run_error(result.error, counts)
        return finish_session(session, ok=result.ok, steps=steps, error=error, exit_code=1)
    except OsirisError as exc:
        return fail_session(session, exc, steps=steps)
    except Exception as exc:
        session.log_exception("run crashed", exc)
        return fail_session(
            session, OsirisError(f"Unexpected {type(exc).__name__}: {exc}."), steps=steps
        )
    except KeyboardInterrupt:
        fail_session(session, OsirisError("The run was interrupted."), steps=steps)
        raise


def fail_session(session: Session, exc: OsirisError, *, steps: dict | None = None) -> RunResult:
    """End a session that could not run (bad input) or crashed: run_error, status ok false."""
    if exc.__traceback__ is not None:
        session.log_exception(str(exc), exc)
    return finish_session(
        session, ok=False, steps=steps or {}, error=str(exc), exit_code=exc.exit_code
    )


def finish_session(
    session: Session,
    *,
    ok: bool,
    steps: dict[str, dict[str, Any]],
    error: str | None,
    exit_code: int,
) -> RunResult:
    duration_ms = int((time.perf_counter() - session.clock) * 1000)
    session.metric("total_duration_ms", duration_ms, "ms")
    if ok:
        session.event("run_complete", ok=True, duration_ms=duration_ms, **_counts(steps))
    else:
        session.event(
            "run_error",
            ok=False,
            error=error,
            duration_ms=duration_ms,
            exit_code=exit_code,
            **_counts(steps),
        )
    status = session.write_status(ok=ok, steps=steps, error=error)
    session.close()
    return RunResult(
        ok=ok,
        exit_code=0 if ok else exit_code,
        session_id=session.id,
        session_dir=session.dir,
        pipeline=session.pipeline,
        steps=status["steps"],
        error=status["error"],
        duration_ms=duration_ms,
    )


def run_manifest(
    manifest_path: Path, *, logs_dir: Path | str | None = None, **options: Any
) -> RunResult:
    """Open a session and run an already compiled pipeline (library entry point)."""
    session = open_session(
        logs_dir, source=str(manifest_path), adapter=options.get("adapter", "local")
    )
    return run_in_session(session, Path(manifest_path), **options)


def _counts(steps: dict[str, dict[str, Any]]) -> dict[str, int]:
    statuses = [s.get("status") for s in steps.values()]
    return {name: statuses.count(name) for name in ("succeeded", "failed", "skipped")}


def _run_error(first_error: str | None, counts: dict[str, int]) -> str:
    tail = f" ({counts['failed']} failed, {counts['skipped']} skipped)"
    sentence = (first_error or "The run failed.").rstrip()
    return sentence + ("" if sentence.endswith((".", "!", "?")) else ".") + tail
