"""Entry point of this plugin. Import-cheap: commands load their modules when invoked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from osiris import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    add_mcp_commands(cli)


def add_mcp_commands(cli: click.Group) -> None:
    """``osiris mcp serve|config``."""
    from osiris_llm.mcp.cli import mcp

    cli.add_command(mcp)
