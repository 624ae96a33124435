"""Reading the ``aiop:`` settings (declared with core's sections in ``osiris.settings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osiris.settings import Settings

SECTION = "aiop"


def load(cli: dict[str, Any] | None = None) -> Settings:
    """The project's settings (osiris.yaml, environment, ``cli`` values for this section)."""
    from osiris.settings import load_settings

    return load_settings(cli={SECTION: cli} if cli else None)


def aiop_options(settings: Settings) -> dict[str, Any]:
    """This section's resolved values, every key present."""
    return dict(settings.section(SECTION))
