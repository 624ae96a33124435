"""The ``e2b:`` section of osiris.yaml, and the resolved options of one run.

Precedence is core's: ``--e2b-*`` flag > ``OSIRIS_E2B_<KEY>`` > osiris.yaml > default. The SDK
takes no CPU or memory at sandbox creation (they belong to the template), so neither is a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECTION_NAME = "e2b"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "template": {
            "type": ["string", "null"],
            "default": None,
            "description": "Sandbox template (name or id); null uses E2B's default 'base'.",
        },
        "timeout_s": {
            "type": "integer",
            "minimum": 1,
            "default": 600,
            "description": "Sandbox lifetime in seconds; the run is stopped when it is reached.",
        },
        "install_deps": {
            "type": "boolean",
            "default": False,
            "description": "Install the wheels' dependencies from the package index in the"
            " sandbox (otherwise the template must have them).",
        },
        "allow_local_hosts": {
            "type": "boolean",
            "default": False,
            "description": "Allow connections to loopback or private hosts.",
        },
        "python": {
            "type": "string",
            "default": "python3",
            "description": "The Python interpreter in the sandbox (3.11 or newer).",
        },
        "max_download_mb": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 1024,
            "description": "Most artifacts and outputs one run may download; over it nothing is.",
        },
        "wheel_cache_dir": {
            "type": ["string", "null"],
            "default": None,
            "description": "Where built wheels are cached (default: ~/.cache/osiris/wheels).",
        },
        "api_key_env": {
            "type": "string",
            "default": "E2B_API_KEY",
            "description": "The environment variable holding the E2B API key.",
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class E2BOptions:
    """What one run uses, already resolved."""

    template: str | None
    timeout_s: int
    install_deps: bool
    allow_local_hosts: bool
    python: str
    max_download_mb: float
    wheel_cache_dir: Path
    api_key_env: str

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)


def section() -> Any:
    from osiris.settings import SettingsSection

    return SettingsSection(SECTION_NAME, SCHEMA, "osiris-remote-e2b")


def resolve_options(cli: dict[str, Any] | None = None) -> E2BOptions:
    """Resolve the section with ``cli`` (the ``--e2b-*`` values) on top."""
    import os

    from osiris.settings import load_settings

    values = load_settings(cli={SECTION_NAME: cli or {}}, sections=[section()]).section(
        SECTION_NAME
    )
    cache = values["wheel_cache_dir"] or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "osiris", "wheels"
    )
    return E2BOptions(
        template=values["template"],
        timeout_s=int(values["timeout_s"]),
        install_deps=bool(values["install_deps"]),
        allow_local_hosts=bool(values["allow_local_hosts"]),
        python=values["python"],
        max_download_mb=float(values["max_download_mb"]),
        wheel_cache_dir=Path(os.path.expanduser(cache)),
        api_key_env=values["api_key_env"],
    )
