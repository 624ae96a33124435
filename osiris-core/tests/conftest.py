"""Shared fixtures of osiris-core's tests.

``runner_kit``: the in-test components of the runner tests (``runner_testkit.py``).
``_validate_all_session_lines``: after the test session, every events.jsonl / metrics.jsonl
written under pytest's temporary directories must validate against docs/reference's schemas.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def runner_kit():
    name = "osiris_runner_testkit"
    if name not in sys.modules:
        path = Path(__file__).with_name("runner_testkit.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session", autouse=True)
def _validate_all_session_lines(tmp_path_factory):
    yield
    from osiris.testing.session_checks import assert_lines_valid

    root = tmp_path_factory.getbasetemp()
    files = sorted([*root.rglob("events.jsonl"), *root.rglob("metrics.jsonl")])
    assert_lines_valid(files)
