"""The benchmarks' own components: a registry of bench drivers, no installed plugin needed."""

from __future__ import annotations

from typing import Any


class CountingWriter:
    """Writer: counts rows batch by batch and keeps nothing."""

    def run(self, *, step_id, config, inputs, ctx):
        total = sum(batch.num_rows for data in inputs.values() for batch in data.reader())
        ctx.log_metric("rows_written", total, unit="rows")
        return {}


COUNTING_WRITER = ("bench.count", "write", "bench_registry:CountingWriter")


def registry(*components: tuple[str, str, str]) -> Any:
    """A registry of core's components plus ``(name, mode, "module:Class")`` bench drivers."""
    from osiris import hookimpl
    from osiris.components import Component
    from osiris.plugins import get_plugin_manager
    from osiris.registry import build_registry

    class Plugin:
        @hookimpl
        def register_components(self):
            return [
                Component(
                    name,
                    {
                        "name": name,
                        "version": "0.1.0",
                        "modes": [mode],
                        "configSchema": {"type": "object"},
                        "x-runtime": {"driver": driver},
                    },
                    driver,
                )
                for name, mode, driver in components
            ]

    pm = get_plugin_manager(load_entry_points=False)
    pm.register_plugin(Plugin(), "bench", "bench", "0")
    return build_registry(pm)
