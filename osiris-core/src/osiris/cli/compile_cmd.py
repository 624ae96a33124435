"""``osiris compile``: OML → ``manifest.yaml``, ``cfg/<step>.json``, ``meta.json``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import click

from osiris.cli.oml_cmd import echo_issues, parse_params, registry_of
from osiris.compiler.last import LAST_COMPILE, record_last_compile


@click.command("compile", short_help="Compile an OML file into manifest.yaml, cfg/ and meta.json.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("compiled"),
    show_default=True,
    help="Output directory.",
)
@click.option("--profile", help="Parameter profile defined in the file.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Parameter value (repeatable); wins over OSIRIS_PARAM_<NAME>, the profile and defaults.",
)
@click.option(
    "--logs-dir",
    type=click.Path(path_type=Path),
    help="Where the compile's session goes (default: $OSIRIS_LOGS_DIR or ./logs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def compile_(
    ctx: click.Context,
    file: Path,
    out_dir: Path,
    profile: str | None,
    params: tuple[str, ...],
    logs_dir: Path | None,
    as_json: bool,
) -> None:
    """Validate FILE and write its deterministic, fingerprinted compiled form to --out.

    Compiling the same file with the same parameters and components gives byte-identical output.
    Exit codes: 0 compiled, 2 invalid pipeline.
    """
    from osiris.compiler import compile_pipeline
    from osiris.errors import OsirisError
    from osiris.oml import OmlValidationError
    from osiris.session.command import create_session, finish_command

    param_map = parse_params(params)
    session = create_session(logs_dir, kind="compile")
    session.event("compile_start", source=str(file), out_dir=str(out_dir), profile=profile)
    with contextlib.suppress(OSError, UnicodeDecodeError):  # the OML as given, valid or not
        session.write_text("oml.yaml", file.read_text(encoding="utf-8"))
    try:
        result = compile_pipeline(
            file, out_dir, profile=profile, params=param_map, registry=registry_of(ctx)
        )
    except OmlValidationError as exc:
        finish_command(
            session,
            ok=False,
            error=f"{file} was not compiled: {len(exc.errors)} error(s).",
            errors=[i.to_dict() for i in exc.errors],
        )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "ok": False,
                        "file": str(file),
                        "errors": [i.to_dict() for i in exc.errors],
                        "warnings": [i.to_dict() for i in exc.warnings],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            echo_issues(str(file), exc.issues, err=True)
            click.echo(f"Error: {file} was not compiled.", err=True)
        ctx.exit(2)
    except OsirisError as exc:
        finish_command(session, ok=False, error=str(exc))
        raise
    session.pipeline = result.manifest["pipeline"]["name"]
    session.copy_compiled(result.out_dir, result.manifest_path)
    finish_command(
        session,
        ok=True,
        pipeline=session.pipeline,
        steps=len(result.manifest["steps"]),
        fingerprints=result.meta["fingerprints"],
        warnings=len(result.warnings),
    )
    try:
        record_last_compile(result.manifest_path)
    except OSError as exc:  # the compile itself succeeded: say what will not work, exit 0
        click.echo(
            f"Warning: could not record the compile in {LAST_COMPILE} ({exc.strerror});"
            " `osiris run --last-compile` will not find it.",
            err=True,
        )
    if as_json:
        payload = {
            "ok": True,
            "file": str(file),
            "out_dir": str(result.out_dir),
            "manifest": str(result.manifest_path),
            "steps": [s["id"] for s in result.manifest["steps"]],
            "fingerprints": result.meta["fingerprints"],
            "warnings": [i.to_dict() for i in result.warnings],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    echo_issues(str(file), result.warnings, err=True)
    n = len(result.manifest["steps"])
    click.echo(
        f"Compiled '{result.manifest['pipeline']['name']}' ({n} step{'' if n == 1 else 's'}) to {result.manifest_path}"
    )
    click.echo(f"manifest_fp {result.meta['fingerprints']['manifest_fp']}")
