"""The package's entry point loads cleanly and is attributed to this distribution."""

from osiris.plugins import get_plugin_manager


def test_entry_point_loads_with_provenance():
    info = get_plugin_manager().infos["e2b"]
    assert info.error is None
    assert info.distribution == "osiris-remote-e2b"
    assert info.module == "osiris_remote_e2b.plugin"


def test_registering_the_adapter_does_not_import_the_sdk():
    """The registry (built by every command) imports the adapter module, never the e2b SDK."""
    import subprocess
    import sys

    probe = (
        "import sys; from osiris.registry import build_registry;"
        " r = build_registry(); assert 'e2b' in r.adapters;"
        " print(sorted(m for m in sys.modules if m == 'e2b' or m.startswith('e2b.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
