"""The ``aiop:`` section of ``osiris.yaml``: whether runs export an AIOP, and its size rules.

Declared by core's builtin plugin (``register_settings``); resolved like every section
(CLI > ``OSIRIS_AIOP_<KEY>`` > osiris.yaml > the defaults below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osiris.settings import Settings, SettingsSection

SECTION = "aiop"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "enabled": {
            "type": "boolean",
            "default": True,
            "description": "Export logs/<session>/aiop/ at the end of every run, ok or failed.",
        },
        "max_core_bytes": {
            "type": "integer",
            "minimum": 10000,
            "default": 300000,
            "description": "Size limit of aiop.json; beyond it the timeline is cut (stated).",
        },
        "annex": {
            "type": "boolean",
            "default": True,
            "description": "Write the full event and metric streams to aiop/annex/*.ndjson.",
        },
        "annex_gzip": {
            "type": "boolean",
            "default": False,
            "description": "Compress the annex files (annex/*.ndjson.gz).",
        },
        "runcard": {
            "type": "boolean",
            "default": True,
            "description": "Write aiop/runcard.md, a Markdown summary for a PR or chat channel.",
        },
    },
    "additionalProperties": False,
}


def section() -> SettingsSection:
    from osiris.settings import SettingsSection

    return SettingsSection(name=SECTION, schema=SCHEMA, distribution="osiris-core")


def load(cli: dict[str, Any] | None = None) -> Settings:
    """The project's settings (osiris.yaml, environment, ``cli`` values for this section)."""
    from osiris.settings import load_settings

    return load_settings(cli={SECTION: cli} if cli else None)


def aiop_options(settings: Settings) -> dict[str, Any]:
    """This section's resolved values, every key present."""
    return dict(settings.section(SECTION))
