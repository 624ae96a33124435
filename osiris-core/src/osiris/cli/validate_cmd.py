"""``osiris validate``: is this installation and project ready to run pipelines?"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from osiris.errors import OsirisError


@dataclass
class Check:
    """One line of the report; ``level`` is ok, warn (works, but look) or fail (broken)."""

    area: str
    level: str
    message: str


@click.command("validate")
@click.option(
    "--connections",
    "connections_path",
    type=click.Path(path_type=Path),
    help="Connections file (default: $OSIRIS_HOME, then ./osiris_connections.yaml).",
)
@click.option(
    "--logs-dir",
    type=click.Path(path_type=Path),
    help="Logs directory to check (default: $OSIRIS_LOGS_DIR or ./logs).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.pass_context
def validate(
    ctx: click.Context, connections_path: Path | None, logs_dir: Path | None, as_json: bool
) -> None:
    """Check configuration, installed plugins and connections; exit 2 if something is broken."""
    checks = run_checks((ctx.obj or {}).get("plugin_manager"), connections_path, logs_dir)
    failures = [c for c in checks if c.level == "fail"]
    warnings = [c for c in checks if c.level == "warn"]
    if as_json:
        click.echo(
            json.dumps({"ok": not failures, "checks": [asdict(c) for c in checks]}, indent=2)
        )
    else:
        from osiris import __version__

        click.echo(f"Osiris {__version__} on Python {sys.version.split()[0]}")
        for check in checks:
            click.echo(f"  {check.level.upper():<4}  {check.area}: {check.message}")
        if failures:
            click.echo(
                f"Summary: {len(failures)} problem(s) to fix: "
                + "; ".join(f"{c.area} ({c.message.split(':')[0]})" for c in failures)
            )
        elif warnings:
            click.echo(f"Summary: ready, with {len(warnings)} warning(s).")
        else:
            click.echo("Summary: ready to run pipelines.")
    if failures:
        ctx.exit(2)


def run_checks(pm: Any, connections_path: Path | None, logs_dir: Path | None) -> list[Check]:
    from osiris.plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    checks = [_config_check()]
    registry, plugin_checks = _plugin_checks(pm)
    checks += plugin_checks
    checks.append(_settings_check(pm))
    if registry is not None:
        checks += _connection_checks(registry, connections_path)
    checks.append(_logs_check(logs_dir))
    return checks


def _config_check() -> Check:
    names = ("OSIRIS_HOME", "OSIRIS_LOGS_DIR", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS")
    shown = [f"{n}={os.environ[n]}" for n in names if os.environ.get(n)]
    return Check("config", "ok", ", ".join(shown) if shown else "defaults (no OSIRIS_* variables)")


def _settings_check(pm: Any) -> Check:
    """The effective settings that differ from their defaults, each with its source."""
    from osiris.settings import load_settings

    try:
        settings = load_settings(plugin_manager=pm)
    except OsirisError as exc:
        return Check("settings", "fail", str(exc))
    where = str(settings.path) if settings.path else "no osiris.yaml (defaults)"
    changed = [
        f"{section}.{key}={json.dumps(entry['value'])} ({entry['source']})"
        for section, keys in settings.effective().items()
        for key, entry in keys.items()
        if entry["source"] != "DEFAULT"
    ]
    extra = [
        f"section '{name}' is declared by no installed package" for name in settings.undeclared
    ]
    level = "warn" if extra else "ok"
    return Check("settings", level, "; ".join([where, *changed, *extra]))


def _plugin_checks(pm: Any) -> tuple[Any, list[Check]]:
    from osiris.registry import build_registry

    checks = []
    loaded = [i for i in pm.infos.values() if i.ok]
    checks.append(
        Check(
            "plugins", "ok", ", ".join(f"{i.name} ({i.distribution} {i.version})" for i in loaded)
        )
    )
    for info in pm.failures:
        checks.append(
            Check(
                f"plugin {info.name}",
                "fail",
                f"{info.distribution} {info.version} failed to load: {info.error}",
            )
        )
    try:
        registry = build_registry(pm)
    except OsirisError as exc:
        checks.append(Check("registry", "fail", str(exc)))
        return None, checks
    checks.append(
        Check(
            "components",
            "ok" if registry.components else "warn",
            ", ".join(sorted(registry.components))
            or "none installed (pip install osiris-driver-filesystem, ...)",
        )
    )
    checks.append(
        Check(
            "connection families",
            "ok" if registry.families else "warn",
            ", ".join(sorted(registry.families)) or "none installed",
        )
    )
    checks.append(
        Check(
            "execution adapters",
            "ok" if "local" in registry.adapters else "fail",
            ", ".join(sorted(registry.adapters)) or "none",
        )
    )
    return registry, checks


def _connection_checks(registry: Any, path: Path | None) -> list[Check]:
    from osiris.connections import load_connections

    try:
        connections = load_connections(path)
    except OsirisError as exc:
        return [Check("connections file", "fail", str(exc))]
    if connections.path is None:
        searched = ", ".join(str(p) for p in connections.searched)
        return [
            Check(
                "connections file",
                "warn",
                f"not found (searched {searched}); pipelines using @connections will fail",
            )
        ]
    listings = connections.list(registry)
    checks = [Check("connections file", "ok", f"{connections.path} ({len(listings)} entries)")]
    for item in listings:
        if item.ok:
            checks.append(Check(f"connection {item.ref}", "ok", "resolves"))
            continue
        reasons = [f"missing variable(s) {', '.join(item.missing)}"] if item.missing else []
        checks.append(Check(f"connection {item.ref}", "fail", "; ".join(reasons + item.problems)))
    return checks


def _logs_check(logs_dir: Path | None) -> Check:
    from osiris.session import resolve_logs_dir
    from osiris.session.paths import logs_dir_problem

    root = resolve_logs_dir(logs_dir)
    problem = logs_dir_problem(root)
    if problem:
        return Check("logs dir", "fail", f"{problem} Set --logs-dir or OSIRIS_LOGS_DIR")
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("."))
    if os.access(probe, os.W_OK):
        return Check("logs dir", "ok", f"{root} (writable)")
    return Check("logs dir", "fail", f"{root} is not writable; set --logs-dir or OSIRIS_LOGS_DIR")
