"""Fixtures: a local E2B (envd + control plane) per test, and pipelines that need core alone."""

from __future__ import annotations

import os

import pytest
from e2b_local import local_e2b


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, tmp_path_factory):
    """No osiris.yaml, logs or variables from the developer's machine; one wheel cache."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in list(os.environ):
        if name.startswith(("OSIRIS_", "E2B_")):
            monkeypatch.delenv(name)
    cache = tmp_path_factory.getbasetemp() / "wheel-cache"
    monkeypatch.setenv("OSIRIS_E2B_WHEEL_CACHE_DIR", str(cache))


@pytest.fixture
def e2b(tmp_path, monkeypatch):
    """The control-plane path (create and kill are observable)."""
    with local_e2b(tmp_path / "sandbox-home", monkeypatch, debug=False) as local:
        yield local


@pytest.fixture
def e2b_debug(tmp_path, monkeypatch):
    """The SDK's debug path: no API call, envd at E2B_SANDBOX_URL."""
    with local_e2b(tmp_path / "sandbox-home", monkeypatch, debug=True) as local:
        yield local
