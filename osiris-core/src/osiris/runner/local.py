"""The ``local`` execution adapter: runs the compiled steps in this process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.adapters import CollectedArtifacts, ExecResult, ExecutionAdapter, PreparedRun
from osiris.errors import InvalidInputError, OsirisError

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest, StepSpec


class LocalAdapter(ExecutionAdapter):
    """Prepare checks everything that can be checked before data moves; execute runs the steps."""

    name = "local"

    def prepare(self, manifest: dict[str, Any], ctx: ExecutionContext) -> PreparedRun:
        from osiris.runner.manifest import load_manifest

        plan = ctx.plan or load_manifest(ctx.manifest_path)
        return PreparedRun(
            manifest=manifest,
            compiled_dir=ctx.compiled_dir,
            extra={"plan": plan, "drivers": check_steps(plan, ctx)},
        )

    def execute(self, prepared: PreparedRun, ctx: ExecutionContext) -> ExecResult:
        from osiris.runner.executor import run_steps

        outcomes = run_steps(prepared.extra["plan"], ctx, prepared.extra["drivers"])
        failed = [o.error for o in outcomes.values() if o.status == "failed"]
        return ExecResult(
            ok=not failed,
            steps={k: o.as_dict() for k, o in outcomes.items()},
            error=failed[0] if failed else None,
        )

    def collect(self, prepared: PreparedRun, ctx: ExecutionContext) -> CollectedArtifacts:
        root = ctx.artifacts_dir
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            mask_text_file(path, ctx)
        return CollectedArtifacts(files=[p.relative_to(root) for p in files])


def mask_text_file(path: Path, ctx: ExecutionContext) -> None:
    """Drivers write artifacts directly; text ones are masked here so no secret stays on disk.

    Binary files (Parquet, Arrow) are left as they are: masking bytes would corrupt them.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    masked = ctx.mask(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


def check_steps(plan: Manifest, ctx: ExecutionContext) -> dict[str, type]:
    """Components installed, drivers importable, connection references resolvable: exit 2 early.

    Returns each step's driver class. Resolving connections here means a missing variable is
    reported before any data moves; each step resolves again when it starts.
    """
    drivers: dict[str, type] = {}
    for step in plan.steps:
        check_input_names(step)
        try:
            component = ctx.registry.component(step.component)
            drivers[step.id] = component.load_driver_class()
            if step.connection:
                ctx.resolve_connection(step.connection)
        except InvalidInputError as exc:
            raise InvalidInputError(f"Step '{step.id}': {exc.message}", hint=exc.hint) from exc
        except OsirisError as exc:
            raise OsirisError(f"Step '{step.id}': {exc.message}", hint=exc.hint) from exc
    return drivers


def check_input_names(step: StepSpec) -> None:
    """Two upstream ids that map to one ``df_<id>`` name (``read-a``, ``read.a``) would hand the
    step only one of them, silently: refuse the pipeline instead."""
    from osiris.stepdata import input_name

    seen: dict[str, str] = {}
    for need in step.needs:
        name = input_name(need)
        if name in seen and seen[name] != need:
            raise InvalidInputError(
                f"Step '{step.id}': its inputs '{seen[name]}' and '{need}' would both be"
                f" named {name}.",
                hint="Rename one of these steps so their ids differ by more than - . and _.",
            )
        seen[name] = need
