"""Entry point of the `osiris` plugin group. Import-cheap: SDKs load only when a step runs."""

from __future__ import annotations

from osiris import hookimpl


@hookimpl
def register_components():
    from osiris.components import Component

    return [
        Component.from_package("osiris_driver_supabase", "supabase.extractor"),
        Component.from_package("osiris_driver_supabase", "supabase.writer"),
    ]


@hookimpl
def register_connection_families():
    from osiris_driver_supabase.family import SupabaseFamily

    return [SupabaseFamily()]
