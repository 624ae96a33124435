"""The package's entry point loads cleanly and is attributed to this distribution."""

from osiris.plugins import get_plugin_manager


def test_entry_point_loads_with_provenance():
    info = get_plugin_manager().infos["llm"]
    assert info.error is None
    assert info.distribution == "osiris-llm"
    assert info.module == "osiris_llm.plugin"
