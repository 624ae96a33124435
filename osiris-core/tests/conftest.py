"""Shared fixtures of osiris-core's tests.

``runner_kit``: the in-test components of the runner tests (``runner_testkit.py``).
``_validate_all_session_lines``: after the test session, every events.jsonl / metrics.jsonl
written under pytest's temporary directories must validate against docs/reference's schemas,
and every aiop.json against the AIOP schema.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def runner_kit():
    import runner_testkit

    return runner_testkit


@pytest.fixture(scope="session", autouse=True)
def _validate_all_session_lines(tmp_path_factory):
    yield
    from osiris.testing.session_checks import assert_lines_valid

    root = tmp_path_factory.getbasetemp()
    files = sorted([*root.rglob("events.jsonl"), *root.rglob("metrics.jsonl")])
    assert_lines_valid(files)
    from osiris.testing.session_checks import assert_aiop_valid

    for aiop in sorted(root.rglob("aiop.json")):  # every AIOP any test exported
        assert_aiop_valid(aiop)
