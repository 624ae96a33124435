"""``osiris run``: compile (when given OML) and run a pipeline in a new session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from osiris.cli.adapter_options import adapter_cli_options
from osiris.errors import InvalidInputError, OsirisError


@click.command("run")
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--last-compile", is_flag=True, help="Run the manifest of the latest `osiris compile`."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Pipeline parameter (repeatable); only when compiling OML.",
)
@click.option("--profile", help="Parameter profile from the OML; only when compiling OML.")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop; writes nothing.")
@click.option(
    "--max-workers",
    type=click.IntRange(min=1),
    help="Steps that may run at once (default: min(4, CPUs)).",
)
@click.option(
    "--logs-dir",
    type=click.Path(path_type=Path),
    help="Where sessions go (default: $OSIRIS_LOGS_DIR or ./logs).",
)
@click.option(
    "--connections",
    "connections_path",
    type=click.Path(path_type=Path),
    help="Connections file (default: $OSIRIS_HOME, then ./osiris_connections.yaml).",
)
@click.option("--adapter", default="local", show_default=True, help="Execution adapter.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Incremental steps ignore their stored marks for this run (then store the new ones).",
)
@click.option("--verbose", "-v", is_flag=True, help="Stream events to stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the final summary as JSON.")
@click.option(
    "--verify",
    type=click.Choice(["count", "checksum"]),
    help="Verification for every writer: count (the default) or checksum (also per column).",
)
@adapter_cli_options
@click.pass_context
def run(
    ctx: click.Context,
    target: Path | None,
    last_compile: bool,
    params: tuple[str, ...],
    profile: str | None,
    dry_run: bool,
    max_workers: int | None,
    logs_dir: Path | None,
    connections_path: Path | None,
    adapter: str,
    full_refresh: bool,
    verbose: bool,
    as_json: bool,
    verify: str | None,
    adapter_options: dict[str, Any],
) -> None:
    """Run TARGET: an OML pipeline file, a compiled DIR or DIR/manifest.yaml.

    Exit codes: 0 success, 1 the run failed, 2 invalid input.
    """
    registry = (ctx.obj or {}).get("registry")
    manifest_path, oml_path = _resolve_target(target, last_compile)
    param_map = _parse_params(params)
    if manifest_path is not None and (param_map or profile):
        raise InvalidInputError(
            "--param and --profile apply when compiling; this target is already compiled.",
            hint="Recompile with `osiris compile PIPELINE --param ...` or run the OML file.",
        )
    if registry is None:
        from osiris.registry import build_registry

        registry = build_registry()
    if dry_run:
        _dry_run(manifest_path, oml_path, registry, profile, param_map, adapter, as_json)
        return
    from osiris.runner.run import compile_in_session, fail_session, open_session, run_in_session

    reporter = ProgressReporter(verbose=verbose, progress=sys.stderr.isatty())
    session = open_session(
        logs_dir, source=str(oml_path or manifest_path), adapter=adapter, listeners=(reporter,)
    )
    if oml_path is not None:
        try:
            manifest_path = compile_in_session(session, oml_path, registry, profile, param_map)
        except OsirisError as exc:
            _finish(fail_session(session, exc), as_json)
            return
    result = run_in_session(
        session,
        manifest_path,
        registry=registry,
        adapter=adapter,
        max_workers=max_workers,
        connections_path=connections_path,
        full_refresh=full_refresh,
        adapter_options=adapter_options,
        run_options={"verify": verify} if verify else None,
    )
    _finish(result, as_json)


def _resolve_target(target: Path | None, last_compile: bool) -> tuple[Path | None, Path | None]:
    """(manifest, None) for compiled input, (None, oml) for a pipeline file."""
    if last_compile == (target is not None):
        raise InvalidInputError(
            "Give either a pipeline/manifest path or --last-compile.",
            hint="Example: osiris run pipeline.yaml",
        )
    if last_compile:
        from osiris.compiler.last import LAST_COMPILE

        pointer = LAST_COMPILE
        try:
            manifest = Path(json.loads(pointer.read_text(encoding="utf-8"))["manifest"])
        except (OSError, ValueError, KeyError):
            raise InvalidInputError(
                f"No previous compile recorded in {pointer}.",
                hint="Run `osiris compile PIPELINE` first.",
            ) from None
        return manifest, None
    assert target is not None
    if target.is_dir():
        return target / "manifest.yaml", None
    if not target.is_file():
        raise InvalidInputError(f"{target} does not exist.")
    from osiris.runner.manifest import is_manifest_file

    return (target, None) if is_manifest_file(target) else (None, target)


def _parse_params(params: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--param '{item}' is not KEY=VALUE.")
        out[key.strip()] = value
    return out


def _dry_run(
    manifest_path: Path | None,
    oml_path: Path | None,
    registry: Any,
    profile: str | None,
    params: dict[str, str],
    adapter: str,
    as_json: bool,
) -> None:
    """Compile to a temporary directory if needed and print the plan; nothing is kept."""
    import tempfile

    from osiris.runner.manifest import load_manifest

    with tempfile.TemporaryDirectory(prefix="osiris-plan-") as tmp:
        if oml_path is not None:
            from osiris.compiler import compile_pipeline

            manifest_path = compile_pipeline(
                oml_path,
                Path(tmp) / "compiled",
                profile=profile,
                params=params or None,
                registry=registry,
            ).manifest_path
        assert manifest_path is not None
        plan = load_manifest(manifest_path)
    registry.adapter(adapter)
    for step in plan.steps:
        try:
            registry.component(step.component)
        except InvalidInputError as exc:
            raise InvalidInputError(f"Step '{step.id}': {exc.message}", hint=exc.hint) from None
    steps = [
        {
            "id": s.id,
            "component": s.component,
            "mode": s.mode,
            "needs": list(s.needs),
            "connection": s.connection,
        }
        for s in plan.steps
    ]
    if as_json:
        click.echo(
            json.dumps({"pipeline": plan.name, "adapter": adapter, "steps": steps}, indent=2)
        )
        return
    click.echo(
        f"Plan for {plan.name}: {len(steps)} step{'' if len(steps) == 1 else 's'}"
        f" on the {adapter} adapter"
    )
    width = max((len(s["id"]) for s in steps), default=0)
    for number, step in enumerate(steps, 1):
        extra = []
        if step["needs"]:
            extra.append("after " + ", ".join(step["needs"]))
        if step["connection"]:
            extra.append(f"connection {step['connection']}")
        click.echo(
            f"  {number:>2}. {step['id']:<{width}}  {step['component']} ({step['mode']})"
            + (f"  [{'; '.join(extra)}]" if extra else "")
        )
    click.echo("Dry run: nothing was run or written.")


class ProgressReporter:
    """Session listener: --verbose streams every event; a terminal gets one line per step."""

    def __init__(self, *, verbose: bool, progress: bool) -> None:
        self.verbose = verbose
        self.progress = progress
        self.total = 0
        self.done = 0

    def __call__(self, kind: str, record: dict[str, Any]) -> None:
        if kind != "event":
            return
        if self.verbose:
            click.echo(json.dumps(record, default=str), err=True)
        event = record["event"]
        if event == "adapter_prepare_start":
            self.total = record.get("steps", 0)
        if not self.progress or self.verbose:
            return
        if event in ("step_complete", "step_error", "step_skipped"):
            self.done += 1
            word = {"step_complete": "done", "step_error": "FAILED", "step_skipped": "skipped"}[
                event
            ]
            rows = record.get("rows")
            rows_text = f" · {rows:,} rows" if isinstance(rows, int) else ""
            click.echo(
                f"[{self.done}/{self.total}] {record['step_id']} {word}{rows_text}", err=True
            )


def _finish(result: Any, as_json: bool) -> None:
    """Print the summary; a failed run ends with its error sentence and exit code."""
    from osiris.masking import process_masker

    if as_json:
        click.echo(process_masker.mask(json.dumps(result.as_dict(), indent=2, default=str)))
    else:
        click.echo(process_masker.mask(summary_text(result)))
    if not result.ok:
        error_class = InvalidInputError if result.exit_code == 2 else OsirisError
        raise error_class(result.error or "The run failed.")


def summary_text(result: Any) -> str:
    steps = result.steps or {}
    counts = {
        k: sum(1 for s in steps.values() if s.get("status") == k)
        for k in ("succeeded", "failed", "skipped")
    }
    head = "Run succeeded" if result.ok else "Run failed"
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    lines = [
        f"{head}: {result.pipeline or '(not compiled)'} · {len(steps)}"
        f" step{'' if len(steps) == 1 else 's'}"
        + (f" ({parts})" if parts else "")
        + f" · {result.duration_ms / 1000:.2f} s"
    ]
    width = max((len(k) for k in steps), default=0)
    for step_id, step in steps.items():
        rows = step.get("rows")
        rows_text = f"{rows:>12,} rows" if isinstance(rows, int) else " " * 17
        ms = step.get("duration_ms")
        ms_text = f"{ms:>8,} ms" if isinstance(ms, int) else ""
        verified = step.get("rows_verified")
        verified_text = f" · {verified:,} verified" if isinstance(verified, int) else ""
        lines.append(
            f"  {step_id:<{width}}  {step.get('status', '?'):<9} {rows_text} {ms_text}"
            f"{verified_text}".rstrip()
        )
    if getattr(result, "state", None):
        from osiris.state.host import state_line

        lines += [state_line(step_id, mark) for step_id, mark in result.state.items()]
    lines.append(f"Session: {result.session_dir}")
    return "\n".join(lines)
