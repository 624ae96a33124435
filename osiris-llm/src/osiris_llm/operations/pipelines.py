"""Pipelines: validate, save, compile and run OML, and read the sessions of past runs.

Each function calls the code ``osiris oml validate``, ``osiris compile`` and ``osiris run`` use;
results are JSON-ready and masked.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError, OsirisError

from osiris_llm.operations.workspace import PROTECTED_NAMES, Workspace, masked

OML_SUFFIXES = (".yaml", ".yml")
MAX_OML_BYTES = 1_000_000
_SESSION_REF = re.compile(r"^(last|[a-z]+_[0-9A-Za-z_]{1,40})$")

EventListener = Callable[[str, dict[str, Any]], None]
"""``(kind, record)`` for every event and metric of the run's session, already masked."""


def validate_oml(
    ws: Workspace,
    oml: str,
    *,
    path: str | None = None,
    params: Mapping[str, Any] | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Every problem of the OML text, as ``osiris oml validate --json`` reports them.

    ``path`` (inside the project) is where the text would live: relative file paths in the
    configs are checked from there.
    """
    from osiris.oml import OmlValidationError, parse_document, validate_document

    text = _oml_text(oml)
    target = ws.resolve_path(path) if path else ws.project_dir / "pipeline.yaml"
    try:
        document = parse_document(text, ws.relative(target))
        document.base_dir = target.parent
        pipeline, issues = validate_document(
            document, ws.registry(), profile=_profile(profile), params=_params(params)
        )
    except OmlValidationError as exc:
        pipeline, issues = None, exc.issues
    return masked(
        {
            "valid": pipeline is not None,
            "errors": [_issue(i) for i in issues if i.severity == "error"],
            "warnings": [_issue(i) for i in issues if i.severity == "warning"],
            "steps": [s.id for s in pipeline.ordered_steps()] if pipeline else [],
        }
    )


def save_oml(ws: Workspace, path: str, oml: str, *, force: bool = False) -> dict[str, Any]:
    """Write valid OML to ``path`` in the project (atomically); invalid OML is not written
    unless ``force`` (then the errors are returned with ``saved: true``)."""
    target = _oml_target(ws, path)
    result = validate_oml(ws, oml, path=ws.relative(target))
    saved = result["valid"] or force
    if saved:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(_oml_text(oml))
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return {"path": ws.relative(target), "saved": saved, **result}


def compile_pipeline(
    ws: Workspace,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    profile: str | None = None,
    out: str = "compiled",
) -> dict[str, Any]:
    """Compile the OML file at ``path`` into ``out`` (default ``compiled/``, as the CLI does)."""
    from osiris.compiler import compile_pipeline as core_compile
    from osiris.oml import OmlValidationError

    source = _existing_file(ws, path)
    out_dir = ws.resolve_path(out)
    try:
        result = core_compile(
            source,
            out_dir,
            profile=_profile(profile),
            params=_params(params),
            registry=ws.registry(),
        )
    except OmlValidationError as exc:
        return masked(
            {
                "ok": False,
                "compiled_dir": None,
                "fingerprints": {},
                "steps": [],
                "errors": [_issue(i) for i in exc.errors],
                "warnings": [_issue(i) for i in exc.warnings],
            }
        )
    return masked(
        {
            "ok": True,
            "compiled_dir": ws.relative(result.out_dir),
            "fingerprints": result.meta["fingerprints"],
            "steps": [
                {"id": s["id"], "component": s["component"], "mode": s["mode"], "needs": s["needs"]}
                for s in result.manifest["steps"]
            ],
            "errors": [],
            "warnings": [_issue(i) for i in result.warnings],
        }
    )


def run_pipeline(
    ws: Workspace,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    profile: str | None = None,
    adapter: str = "local",
    on_event: EventListener | None = None,
) -> dict[str, Any]:
    """Run an OML file (compiled into the session first) or a compiled directory/manifest, in a
    new session, through the same code as ``osiris run``. A crash becomes a failed result."""
    from osiris.cli.run_cmd import _compile, _is_manifest
    from osiris.runner.run import fail_session, open_session, run_in_session

    target = ws.resolve_path(path, must_exist=True)
    manifest = target / "manifest.yaml" if target.is_dir() else target
    if not manifest.is_file():
        raise InvalidInputError(
            f"The argument 'path': '{path}' holds no pipeline or manifest.yaml."
        )
    is_manifest = manifest.name == "manifest.yaml" or _is_manifest(manifest)
    param_map, profile = _params(params), _profile(profile)
    if is_manifest and (param_map or profile):
        raise InvalidInputError(
            "The arguments 'params' and 'profile' apply to an OML file; this path is compiled."
        )
    registry = ws.registry()
    registry.adapter(adapter)  # an unknown adapter is bad input, not a failed run
    session = open_session(
        ws.logs_dir,
        source=ws.relative(manifest),
        adapter=adapter,
        listeners=(on_event,) if on_event else (),
    )
    try:
        if not is_manifest:
            manifest = _compile(session, manifest, registry, profile, param_map or {})
        result = run_in_session(
            session,
            manifest,
            registry=registry,
            adapter=adapter,
            connections_path=_connections_file(ws),
        )
    except OsirisError as exc:
        result = fail_session(session, exc)
    except Exception as exc:  # a crash is this run's failure, never the caller's
        session.log_exception("run crashed", exc)
        result = fail_session(session, OsirisError(f"Unexpected {type(exc).__name__}: {exc}."))
    return masked(_run_summary(ws, result.as_dict(), _write_steps(result.session_dir)))


def list_runs(ws: Workspace, limit: int = 20) -> list[dict[str, Any]]:
    """The newest run sessions (``osiris logs list``), at most ``limit``."""

    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
        raise InvalidInputError(
            f"The argument 'limit' must be an integer from 1 to 200, got {limit!r}."
        )
    runs = _runs(ws)[:limit]
    return masked([{**s.summary(), "path": ws.relative(s.path)} for s in runs])


def show_run(ws: Workspace, session: str) -> dict[str, Any]:
    """One run: status, per-step rows and durations, and its first error."""
    info = find_run(ws, session)
    status = info.status or {}
    summary = {
        "session": info.id,
        "ok": status.get("ok") if info.status else None,
        "exit_code": None,
        "pipeline": status.get("pipeline"),
        "steps": status.get("steps") or {},
        "error": status.get("error"),
        "duration_ms": status.get("duration_ms"),
        "started_at": status.get("started_at"),
        "finished_at": status.get("finished_at"),
    }
    if info.status is None:
        summary["status"] = "unfinished"
    return masked(_run_summary(ws, summary, _write_steps(info.path), path=info.path))


def find_run(ws: Workspace, session: str) -> Any:
    """The ``SessionInfo`` of a run by id, unique prefix or ``last`` (never a path)."""
    from osiris.session import find_session

    if not isinstance(session, str) or not _SESSION_REF.match(session):
        raise InvalidInputError(
            "The argument 'session' must be a session id such as run_20261122T041500Z_ab12cd"
            f" (a unique prefix, or 'last'), got {session!r}."
        )
    if session != "last":
        return find_session(ws.logs_dir, session)
    runs = _runs(ws)
    if not runs:
        raise InvalidInputError(f"No runs in {ws.relative(ws.logs_dir)}; run a pipeline first.")
    return runs[0]


def _runs(ws: Workspace) -> list[Any]:
    """Run sessions, newest first by their millisecond start time (ids only have seconds)."""
    from osiris.session import list_sessions

    runs = [s for s in list_sessions(ws.logs_dir) if s.id.startswith("run_")]
    return sorted(runs, key=lambda s: (s.summary()["started_at"], s.id), reverse=True)


def _run_summary(
    ws: Workspace, data: dict[str, Any], write_steps: set[str], path: Path | None = None
) -> dict[str, Any]:
    steps = {
        step_id: {
            "status": step.get("status"),
            "rows": step.get("rows"),
            "duration_ms": step.get("duration_ms"),
            "error": step.get("error"),
        }
        for step_id, step in (data.get("steps") or {}).items()
    }
    written = [
        s["rows"] for k, s in steps.items() if k in write_steps and isinstance(s["rows"], int)
    ]
    ok = data.get("ok")
    return {
        "session": data.get("session"),
        "ok": ok,
        "exit_code": data.get("exit_code"),
        "status": data.get("status") or ("succeeded" if ok else "failed"),
        "pipeline": data.get("pipeline"),
        "steps": steps,
        "error": data.get("error"),
        "rows_written": sum(written) if written else None,
        "duration_ms": data.get("duration_ms"),
        "session_dir": ws.relative(path or Path(data.get("session_dir", ""))),
    }


def _write_steps(session_dir: Path) -> set[str]:
    """Ids of the write steps, from the manifest copied into the session (none if not compiled)."""
    import yaml

    try:
        manifest = yaml.safe_load((Path(session_dir) / "manifest.yaml").read_text("utf-8"))
        return {s["id"] for s in manifest["steps"] if s.get("mode") == "write"}
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return set()


def _connections_file(ws: Workspace) -> Path | None:
    """The connections file the workspace found, so a run reads the same one as the tools."""
    return ws.connections().path


def _oml_target(ws: Workspace, path: str) -> Path:
    target = ws.resolve_path(path)
    if target.suffix.lower() not in OML_SUFFIXES:
        raise InvalidInputError(f"The argument 'path': '{path}' must end with .yaml or .yml.")
    if target.name.lower() in PROTECTED_NAMES or target.name.startswith("."):
        raise InvalidInputError(
            f"The argument 'path': '{path}' names a settings or secrets file; choose another name."
        )
    if target.is_dir():
        raise InvalidInputError(f"The argument 'path': '{path}' is a directory.")
    inside = target.relative_to(ws.project_dir).parts
    if inside and inside[0] in (".osiris", ws.relative(ws.logs_dir).split("/")[0]):
        raise InvalidInputError(
            f"The argument 'path': '{path}' is inside Osiris's own state; save pipelines elsewhere."
        )
    return target


def _existing_file(ws: Workspace, path: str) -> Path:
    target = ws.resolve_path(path, must_exist=True)
    if not target.is_file():
        raise InvalidInputError(f"The argument 'path': '{path}' is not a file.")
    return target


def _oml_text(oml: Any) -> str:
    if not isinstance(oml, str) or not oml.strip():
        raise InvalidInputError("The argument 'oml' must be the pipeline's YAML text.")
    if len(oml.encode("utf-8")) > MAX_OML_BYTES:
        raise InvalidInputError(f"The argument 'oml' is larger than {MAX_OML_BYTES} bytes.")
    return oml


def _params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Parameter values as the CLI passes them (text; the file's defaults give the types)."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise InvalidInputError("The argument 'params' must be an object of NAME: VALUE.")
    out = {}
    for name, value in params.items():
        if isinstance(value, dict | list):
            raise InvalidInputError(f"The argument 'params': '{name}' must be a single value.")
        out[str(name)] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out or None


def _profile(profile: Any) -> str | None:
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        raise InvalidInputError("The argument 'profile' must be a profile name.")
    return profile


def _issue(issue: Any) -> dict[str, Any]:
    return {
        "path": issue.path,
        "message": issue.message,
        "fix": issue.fix,
        "line": issue.line,
        "column": issue.column,
    }
