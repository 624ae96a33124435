"""Canary: the e2b internals the local envd is built on are where the tests expect them.

The tests run the real SDK against a local envd made of the Connect RPC stubs and the JSON codec
inside the ``e2b`` wheel. Those modules are internal; when a release moves or changes them, this
file fails first and says what moved, instead of every adapter test failing obscurely.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

PINNED = "2.63.0"


def test_the_pinned_sdk_is_installed():
    assert importlib.metadata.version("e2b") == PINNED, (
        f"e2b {importlib.metadata.version('e2b')} is installed but osiris-remote-e2b pins"
        f" {PINNED}: check the stubs below, then move the pin and this constant together."
    )


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("e2b.envd.process.process_connect", ["Process", "ProcessASGIApplication"]),
        ("e2b.envd.filesystem.filesystem_connect", ["Filesystem", "FilesystemASGIApplication"]),
        ("e2b.envd.client_shared", ["ENVD_JSON_CODEC"]),
        ("e2b.envd.process.process_pb", ["StartResponse", "ProcessEvent", "SendSignalResponse"]),
        ("e2b.envd.filesystem.filesystem_pb", ["EntryInfo", "StatResponse", "ListDirResponse"]),
        ("e2b.envd.api", ["ENVD_API_FILES_ROUTE", "ENVD_API_HEALTH_ROUTE"]),
    ],
)
def test_the_stubs_the_local_envd_uses_are_there(module, names):
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"e2b moved {module} ({exc}); the local envd in tests/e2b_local.py needs it")
    missing = [name for name in names if not hasattr(loaded, name)]
    assert not missing, f"{module} no longer has {missing}; update tests/e2b_local.py"


def test_the_routes_and_rpcs_are_the_ones_served():
    from e2b.envd.api import ENVD_API_FILES_ROUTE, ENVD_API_HEALTH_ROUTE
    from e2b.envd.filesystem.filesystem_connect import FilesystemASGIApplication
    from e2b.envd.process.process_connect import ProcessASGIApplication

    assert (ENVD_API_FILES_ROUTE, ENVD_API_HEALTH_ROUTE) == ("/files", "/health")
    source = importlib.import_module("e2b.envd.process.process_connect").__file__
    text = Path(source).read_text(encoding="utf-8")
    for rpc in ("Start", "List", "SendSignal"):
        assert f'"/process.Process/{rpc}"' in text, rpc
    assert ProcessASGIApplication.path.fget is not None
    assert FilesystemASGIApplication.path.fget is not None
    text = Path(
        importlib.import_module("e2b.envd.filesystem.filesystem_connect").__file__
    ).read_text(encoding="utf-8")
    for rpc in ("Stat", "ListDir", "MakeDir", "Remove"):
        assert f'"/filesystem.Filesystem/{rpc}"' in text, rpc
