"""``osiris connections list|doctor``: what is configured, and whether it works.

Everything printed goes through the masker: secret fields show ``***``, and any secret value
that a family's message echoes (a DSN in an error, say) is masked too.
"""

from __future__ import annotations

import json
from typing import Any

import click

CONNECTIONS_OPTION = click.option(
    "--connections",
    "connections_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Connections file (default: $OSIRIS_HOME/osiris_connections.yaml, then"
    " ./osiris_connections.yaml).",
)


def registry_from(ctx: click.Context) -> Any:
    """The registry given by the caller (tests, embedding tools), else the installed plugins'."""
    obj = ctx.find_root().obj or {}
    if obj.get("registry") is None:
        from osiris.registry import build_registry

        obj["registry"] = build_registry()
    return obj["registry"]


@click.group()
def connections() -> None:
    """List and check the connections in osiris_connections.yaml."""


@connections.command("list")
@CONNECTIONS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_(ctx: click.Context, connections_file: str | None, as_json: bool) -> None:
    """List connections with secrets masked and missing variables flagged."""
    from osiris.connections import load_connections
    from osiris.masking import process_masker

    loaded = load_connections(connections_file)
    listings = loaded.list(registry_from(ctx))
    if as_json:
        document = {
            "file": str(loaded.path) if loaded.path else None,
            "connections": [listing.to_json() for listing in listings],
        }
        click.echo(process_masker.mask(json.dumps(document, indent=2, default=str)))
        return
    if loaded.path is None:
        searched = ", ".join(str(p) for p in loaded.searched)
        click.echo(f"No connections file found (looked for {searched}).")
        return
    click.echo(f"Connections file: {loaded.path}")
    if not listings:
        click.echo("No connections defined.")
    for listing in listings:
        status = "ok" if listing.ok else "needs attention"
        default = " (default)" if listing.is_default else ""
        click.echo(process_masker.mask(f"\n{listing.ref}{default}  [{status}]"))
        for key, value in listing.values.items():
            click.echo(process_masker.mask(f"    {key}: {_scalar(value)}"))
        if listing.missing:
            click.echo(f"    missing variables: {', '.join(listing.missing)}")
        for problem in listing.problems:
            click.echo(process_masker.mask(f"    problem: {problem}"))


@connections.command("doctor")
@CONNECTIONS_OPTION
@click.option("--family", "family_filter", default=None, help="Only this family.")
@click.option("--alias", "alias_filter", default=None, help="Only this alias.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each check.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def doctor(
    ctx: click.Context,
    connections_file: str | None,
    family_filter: str | None,
    alias_filter: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Check that connections work; exit 1 if any check fails."""
    from osiris.connections import load_connections
    from osiris.connections.doctor import check_connection
    from osiris.errors import InvalidInputError
    from osiris.masking import process_masker

    loaded = load_connections(connections_file)
    registry = registry_from(ctx)
    if loaded.path is None:
        searched = ", ".join(str(p) for p in loaded.searched)
        raise InvalidInputError(f"No connections file found (looked for {searched}).")
    targets = [
        (family, alias)
        for family in loaded.families()
        if family_filter in (None, family)
        for alias in loaded.aliases(family)
        if alias_filter in (None, alias)
    ]
    if not targets:
        available = ", ".join(
            f"@{family}.{alias}" for family in loaded.families() for alias in loaded.aliases(family)
        )
        raise InvalidInputError(
            f"No connection in {loaded.path} matches the filters; defined: {available or 'none'}."
        )
    results = [
        check_connection(loaded, registry, family, alias, timeout) for family, alias in targets
    ]
    results = [process_masker.mask_obj(result) for result in results]
    failed = [result for result in results if not result["ok"]]
    if as_json:
        document = {"file": str(loaded.path), "ok": not failed, "results": results}
        click.echo(process_masker.mask(json.dumps(document, indent=2, default=str)))
    else:
        for result in results:
            latency = f" {result['latency_ms']:.0f} ms" if result["latency_ms"] is not None else ""
            state = "ok" if result["ok"] else f"FAILED ({result['category']})"
            click.echo(f"{result['ref']}: {state}{latency} - {result['message']}")
        click.echo(f"\n{len(results) - len(failed)} ok, {len(failed)} failed.")
    if failed:
        ctx.exit(1)


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
