"""``osiris oml validate``: every problem of a pipeline file, with path, line and fix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click


def registry_of(ctx: click.Context) -> Any:
    """The registry given by the caller (tests, embedding tools), else the installed plugins'."""
    obj = ctx.find_root().obj or {}
    if obj.get("registry") is None:
        from osiris.registry import build_registry

        obj["registry"] = build_registry()
    return obj["registry"]


def parse_params(values: Sequence[str]) -> dict[str, str]:
    """``("a=1", "b=x=y")`` → ``{"a": "1", "b": "x=y"}``; a missing ``=`` is a usage error."""
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{item}' is not NAME=VALUE.", param_hint="--param")
        params[name.strip()] = value
    return params


def echo_issues(file: str, issues: Sequence[Any], *, err: bool = False) -> None:
    """One line per issue (``file:line:col: error: path: message (fix)``), then a count."""
    for issue in issues:
        click.echo(issue.format(file), err=err)
    errors = sum(1 for i in issues if i.severity == "error")
    warnings = len(issues) - errors
    if errors or warnings:
        counts = [
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in ((errors, "error"), (warnings, "warning"))
            if n
        ]
        click.echo(f"{file}: {', '.join(counts)}.", err=err)


@click.group()
def oml() -> None:
    """Work with OML pipeline files."""


@oml.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--profile", help="Parameter profile defined in the file.")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="Parameter value (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def validate(
    ctx: click.Context, file: Path, profile: str | None, params: tuple[str, ...], as_json: bool
) -> None:
    """Check FILE against OML v0.1.0 and the installed components.

    Exit codes: 0 valid (warnings allowed), 2 invalid.
    """
    from osiris.oml import OmlValidationError, load_document, validate_document

    param_map = parse_params(params)
    pipeline = None
    try:
        document = load_document(file)
        pipeline, issues = validate_document(
            document, registry_of(ctx), profile=profile, params=param_map
        )
    except OmlValidationError as exc:
        issues = exc.issues
    valid = pipeline is not None
    if as_json:
        payload = {
            "file": str(file),
            "valid": valid,
            "errors": [i.to_dict() for i in issues if i.severity == "error"],
            "warnings": [i.to_dict() for i in issues if i.severity == "warning"],
            "steps": [s.id for s in pipeline.ordered_steps()] if pipeline else [],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        echo_issues(str(file), issues)
        if pipeline is not None:
            n = len(pipeline.steps)
            click.echo(f"{file}: valid OML ({n} step{'' if n == 1 else 's'}).")
    if not valid:
        ctx.exit(2)
