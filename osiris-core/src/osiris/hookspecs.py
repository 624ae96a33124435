"""The hooks a plugin can implement. Each returns what it adds; core collects them per plugin.

Plugin authors implement these with ``from osiris import hookimpl``; see docs/plugins/hooks.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from osiris.adapters import ExecutionAdapter
    from osiris.components import Component
    from osiris.families import ConnectionFamily
    from osiris.llm import LLMProvider
    from osiris.settings import SettingsSection

hookspec = pluggy.HookspecMarker("osiris")


@hookspec
def register_components() -> list[Component]:
    """Components (spec + lazy driver reference) this plugin provides.

    Build them with ``Component.from_package(__package__, "family.kind")`` so the spec comes from
    ``components/<name>/spec.yaml`` package data; never import the driver's SDK here.
    """


@hookspec
def register_connection_families() -> list[ConnectionFamily]:
    """Connection families (``mysql``, ``supabase``, ...) with their schema, secrets, doctor, discovery."""


@hookspec
def register_execution_adapters() -> list[type[ExecutionAdapter]]:
    """Execution adapter classes (``local`` is core's; ``e2b`` comes from osiris-remote-e2b)."""


@hookspec
def register_llm_providers() -> list[type[LLMProvider]]:
    """LLM provider classes (``anthropic``, ``openai``, ...)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``osiris`` CLI (``osiris chat`` comes from osiris-llm)."""


@hookspec
def register_settings() -> list[SettingsSection]:
    """Sections of ``osiris.yaml`` this plugin reads (``llm``, ``e2b``, ...), as JSON Schemas.

    Each property's ``default`` is the value when no CLI flag, ``OSIRIS_<SECTION>_<KEY>`` variable
    or ``osiris.yaml`` entry sets it; read resolved values with ``osiris.settings.load_settings``.
    """
