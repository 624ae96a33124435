"""One run from start to status.json: session events around the adapter's three phases."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import OsirisError

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
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Incremental steps: the mark committed (or kept, and why)."""

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
            "state": self.state,
        }


def open_session(
    logs_dir: Path | str | None = None,
    *,
    source: str | None = None,
    adapter: str = "local",
    listeners: tuple[Listener, ...] = (),
) -> Session:
    """Open ``logs/<session_id>/`` and write ``run_start`` (listeners see it too)."""
    from osiris.session.command import create_session

    session = create_session(logs_dir)
    session.listeners.extend(listeners)
    session.event("run_start", source=source, adapter=adapter)
    return session


def run_in_session(
    session: Session,
    manifest_path: Path,
    *,
    registry: Registry | None = None,
    full_refresh: bool = False,
    state_path: Path | None = None,
    adapter: str = "local",
    max_workers: int | None = None,
    connections_path: Path | None = None,
    run_options: dict[str, Any] | None = None,
    adapter_options: dict[str, Any] | None = None,
) -> RunResult:
    """Run a compiled manifest inside an open session; always writes status.json and closes it."""
    from osiris.runner.context import ExecutionContext, default_max_workers

    steps: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, Any]] = {}
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
        keep_oml(session, manifest.compiled_dir, manifest.raw)
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
            run_options=dict(run_options or {}),
            adapter_options=dict(adapter_options or {}),
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
        plan = _read_state(session, manifest, full_refresh, state_path)
        if plan is not None:
            ctx.run_options.update(plan.run_options())
            session.listeners.append(plan.listen)
        session.event("adapter_prepare_start", adapter=adapter, steps=len(manifest.steps))
        prepared = adapter_obj.prepare(manifest.raw, ctx)
        session.event("adapter_prepare_complete", adapter=adapter)
        result = adapter_obj.execute(prepared, ctx)
        steps.update(result.steps)
        counts = _counts(steps)
        session.event("adapter_execute_complete", adapter=adapter, ok=result.ok, **counts)
        if plan is not None:
            from osiris.state.host import commit_state

            session.listeners.remove(plan.listen)
            state = commit_state(session, plan, steps)
        collected = adapter_obj.collect(prepared, ctx)
        session.event("adapter_collect_complete", adapter=adapter, files=len(collected.files))
        error = None if result.ok else _run_error(result.error, counts)
        return finish_session(
            session, ok=result.ok, steps=steps, error=error, exit_code=1, state=state
        )
    except OsirisError as exc:
        return fail_session(session, exc, steps=steps, state=state)
    except Exception as exc:
        session.log_exception("run crashed", exc)
        return fail_session(
            session,
            OsirisError(f"Unexpected {type(exc).__name__}: {exc}."),
            steps=steps,
            state=state,
        )
    except KeyboardInterrupt:
        fail_session(session, OsirisError("The run was interrupted."), steps=steps, state=state)
        raise


def _read_state(
    session: Session, manifest: Any, full_refresh: bool, state_path: Path | None
) -> Any:
    """The run's incremental plan (marks read, ``state_read`` events), or None without any.

    ``full_refresh`` hands every incremental step no mark for this run; ``state_path`` is the
    marks file (default ``.osiris/state.sqlite``).
    """
    if not any(isinstance(s.config.get("incremental"), dict) for s in manifest.steps):
        return None
    from osiris.state.host import read_state
    from osiris.state.store import StateStore

    return read_state(session, manifest, store=StateStore(state_path), full_refresh=full_refresh)


def fail_session(
    session: Session, exc: OsirisError, *, steps: dict | None = None, state: dict | None = None
) -> RunResult:
    """End a session that could not run (bad input) or crashed: run_error, status ok false."""
    if exc.__traceback__ is not None:
        session.log_exception(str(exc), exc)
    return finish_session(
        session,
        ok=False,
        steps=steps or {},
        error=str(exc),
        exit_code=exc.exit_code,
        state=state,
    )


def finish_session(
    session: Session,
    *,
    ok: bool,
    steps: dict[str, dict[str, Any]],
    error: str | None,
    exit_code: int,
    state: dict[str, dict[str, Any]] | None = None,
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
    extra = {"state": state} if state else {}
    status = session.write_status(ok=ok, steps=steps, error=error, **extra)
    _export_aiop(session)
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
        state=status.get("state") or {},
    )


def keep_oml(session: Session, compiled_dir: Path, manifest: dict[str, Any]) -> None:
    """Copy the OML the manifest was compiled from into the session as ``oml.yaml``.

    Only when the file still has the manifest's ``oml_fp``: an OML edited since the compile is
    not what ran. Reports show it, and the AIOP reads the chat's intent from its metadata.
    """
    header = manifest.get("pipeline") or {}
    source, expected = header.get("source"), (header.get("fingerprints") or {}).get("oml_fp")
    if not source or not expected:
        return
    from osiris.compiler.canonical import fingerprint
    from osiris.oml import OmlValidationError, load_document

    path = Path(compiled_dir) / source
    try:
        document = load_document(path)
        if fingerprint(document.data) == expected:
            session.write_text("oml.yaml", path.read_text(encoding="utf-8"))
    except (OmlValidationError, OSError, UnicodeDecodeError, ValueError):
        return


def _export_aiop(session: Session) -> None:
    """Write ``aiop/`` for every run, ok or failed; a failure here never fails the run.

    The problem goes to the session's osiris.log as a warning (events end with run_complete or
    run_error, so nothing follows them there).
    """
    try:
        from osiris.report.export import export_after_run

        export_after_run(session)
    except Exception as exc:  # the run's outcome is already decided and recorded
        session.log_exception(
            f"AIOP export failed ({type(exc).__name__}: {exc}); the run itself is unaffected.",
            exc,
            level="warning",
        )
    except KeyboardInterrupt as exc:  # Ctrl-C now stops the export, not the finished run
        session.log_exception(
            "AIOP export interrupted; the run itself is unaffected.", exc, level="warning"
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


def compile_in_session(
    session: Session, oml_path: Path, registry: Any, profile: str | None, params: dict[str, str]
) -> Path:
    """Compile OML into ``<session>/compiled`` (``osiris run FILE``); returns the manifest path."""
    from osiris.compiler import compile_pipeline

    session.event("compile_start", source=str(oml_path))
    result = compile_pipeline(
        oml_path,
        session.dir / "compiled",
        profile=profile,
        params=params or None,
        registry=registry,
    )
    session.event(
        "compile_complete",
        pipeline=result.manifest["pipeline"]["name"],
        steps=len(result.manifest["steps"]),
        warnings=len(result.warnings),
    )
    return result.manifest_path
