"""Entry point of osiris-remote-e2b: the ``e2b`` execution adapter and the ``e2b:`` settings.

Import-cheap: the adapter module imports the e2b SDK only when a run uses it.
"""

from __future__ import annotations

from typing import Any

from osiris import hookimpl


@hookimpl
def register_execution_adapters() -> list[type]:
    from osiris_remote_e2b.adapter import E2BAdapter

    return [E2BAdapter]


@hookimpl
def register_settings() -> list[Any]:
    from osiris_remote_e2b.settings import section

    return [section()]
