"""``osiris plugins``: every loaded plugin with its provenance, and why a broken one failed."""

from __future__ import annotations

import json

import click


@click.command("plugins", short_help="List installed plugins, their provenance and load errors.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """Plugins found through the `osiris` entry points (and core's own), with the hooks they implement.

    A plugin that fails to import is listed with its error; other commands keep working.
    """
    from osiris.cli.components_cmd import table
    from osiris.plugins import get_plugin_manager

    infos = sorted(
        get_plugin_manager().infos.values(), key=lambda i: (i.distribution != "osiris-core", i.name)
    )
    if as_json:
        items = [
            {
                "name": i.name,
                "module": i.module,
                "distribution": i.distribution,
                "version": i.version,
                "hooks": list(i.hooks),
                "ok": i.ok,
                "error": i.error,
            }
            for i in infos
        ]
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    rows = [
        (i.name, i.distribution, i.version, ", ".join(i.hooks) if i.ok else f"FAILED: {i.error}")
        for i in infos
    ]
    click.echo(table(("PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"), rows))
    broken = [i for i in infos if not i.ok]
    if broken:
        names = ", ".join(i.name for i in broken)
        click.echo(
            f"\n{len(broken)} plugin(s) failed to load ({names}); their components are unavailable.",
            err=True,
        )
