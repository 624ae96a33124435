"""Registers the memtest family and its two components."""

from osiris import hookimpl


@hookimpl
def register_components():
    from osiris.components import Component

    return [
        Component.from_package("osiris_llm_testplugin", "memtest.extractor"),
        Component.from_package("osiris_llm_testplugin", "memtest.writer"),
    ]


@hookimpl
def register_connection_families():
    from osiris_llm_testplugin.family import MemtestFamily

    return [MemtestFamily()]
