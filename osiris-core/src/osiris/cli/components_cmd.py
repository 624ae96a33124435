"""``osiris components list|show``: what the installed plugins provide, and how to configure it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from osiris.cli.oml_cmd import registry_of

OML_MODES = {"extract": "read", "write": "write", "transform": "transform", "discover": "discover"}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart; no trailing spaces."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _summary(component: Any) -> dict[str, Any]:
    spec = component.spec
    return {
        "name": component.name,
        "title": spec.get("title", ""),
        "modes": [OML_MODES.get(m, m) for m in component.modes],
        "spec_version": spec.get("version"),
        "distribution": component.distribution,
        "version": component.version,
        "driver": component.driver,
    }


@click.group()
def components() -> None:
    """List the installed components or show one in detail."""


@components.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every installed component with its modes and the distribution providing it."""
    registry = registry_of(ctx)
    items = [_summary(registry.components[name]) for name in sorted(registry.components)]
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    rows = [
        (i["name"], ", ".join(i["modes"]), f"{i['distribution']} {i['version']}", i["title"])
        for i in items
    ]
    click.echo(table(("NAME", "MODES", "DISTRIBUTION", "TITLE"), rows))


@components.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (includes the full spec).")
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Modes, provenance, config fields, secrets and examples of component NAME."""
    component = registry_of(ctx).component(name)
    summary = _summary(component)
    fields = _fields(component)
    if as_json:
        click.echo(
            json.dumps(
                {**summary, "fields": fields, "spec": component.spec},
                indent=2,
                ensure_ascii=False,
                default=str,
            )
        )
        return
    spec = component.spec
    click.echo(
        f"{component.name} {summary['spec_version']}"
        + (f" - {summary['title']}" if summary["title"] else "")
    )
    if spec.get("description"):
        click.echo(f"  {spec['description']}")
    click.echo(
        f"  provided by: {component.distribution} {component.version} (plugin {component.plugin})"
    )
    click.echo(f"  modes:       {', '.join(summary['modes'])}")
    click.echo(f"  driver:      {component.driver}")
    click.echo("\nConfig fields:")
    rows = [
        (f["name"], f["type"], "required" if f["required"] else "", f["default"], f["description"])
        for f in fields
    ]
    click.echo(
        _indent(table(("FIELD", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"), rows))
        if rows
        else "  (none)"
    )
    if spec.get("secrets"):
        click.echo(
            f"\nSecrets (never in OML; put them in osiris_connections.yaml): {', '.join(spec['secrets'])}"
        )
    for i, example in enumerate(spec.get("examples") or [], 1):
        import yaml

        title = example.get("title") or f"Example {i}"
        body = yaml.safe_dump(
            {"config": example.get("config", {})}, sort_keys=False, allow_unicode=True
        )
        click.echo(f"\nExample: {title}\n{_indent(body.rstrip())}")


def _fields(component: Any) -> list[dict[str, Any]]:
    schema = component.config_schema
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type") or (
            "enum: " + "|".join(map(str, prop["enum"])) if "enum" in prop else "any"
        )
        if "enum" in prop and "type" in prop:
            kind = f"{kind} ({'|'.join(map(str, prop['enum']))})"
        out.append(
            {
                "name": name,
                "type": kind if isinstance(kind, str) else "|".join(kind),
                "required": name in required,
                "default": json.dumps(prop["default"]) if "default" in prop else "",
                "description": str(prop.get("description", "")).strip().splitlines()[0]
                if prop.get("description")
                else "",
            }
        )
    return out


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.splitlines())
