"""Pipelines: validate, save, compile and run OML.

Each function calls the code ``osiris oml validate``, ``osiris compile`` and ``osiris run`` use;
results are JSON-ready and masked.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError, OsirisError

from osiris_llm.operations.runs import run_summary, write_steps
from osiris_llm.operations.workspace import PROTECTED_NAMES, Workspace, masked

OML_SUFFIXES = (".yaml", ".yml")
MAX_OML_BYTES = 1_000_000

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


def validate_file(
    ws: Workspace,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """``validate_oml`` of the pipeline file at ``path`` in the project."""
    source = _pipeline_file(ws, path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"The argument 'path': cannot read '{path}' ({exc}).") from None
    return validate_oml(ws, text, path=path, params=params, profile=profile)


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
    from osiris.compiler.last import record_last_compile
    from osiris.oml import OmlValidationError

    source = _pipeline_file(ws, path)
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
    with contextlib.suppress(OSError):  # like `osiris compile`: the compile stands without it
        record_last_compile(result.manifest_path, ws.project_dir)
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
    from osiris.runner.manifest import is_manifest_file
    from osiris.runner.run import compile_in_session, fail_session, open_session, run_in_session

    target = ws.resolve_path(path, must_exist=True)
    manifest = target / "manifest.yaml" if target.is_dir() else _pipeline_file(ws, path)
    if not manifest.is_file():
        raise InvalidInputError(
            f"The argument 'path': '{path}' holds no pipeline or manifest.yaml."
        )
    is_manifest = manifest.name == "manifest.yaml" or is_manifest_file(manifest)
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
            manifest = compile_in_session(session, manifest, registry, profile, param_map or {})
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
    return masked(run_summary(ws, result.as_dict(), write_steps(result.session_dir)))


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


def _pipeline_file(ws: Workspace, path: str) -> Path:
    """An existing .yaml/.yml file in the project that is not a settings or secrets file:
    validation messages quote what they read, so those files are never read as OML."""
    target = ws.resolve_path(path, must_exist=True)
    if not target.is_file():
        raise InvalidInputError(f"The argument 'path': '{path}' is not a file.")
    if target.suffix.lower() not in OML_SUFFIXES or target.name.lower() in PROTECTED_NAMES:
        raise InvalidInputError(
            f"The argument 'path': '{path}' is not a pipeline file (.yaml or .yml, not"
            " osiris_connections.yaml or osiris.yaml)."
        )
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
