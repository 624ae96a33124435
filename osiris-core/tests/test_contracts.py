"""Core's own component passes the contract suite that every plugin's tests inherit."""

from __future__ import annotations

import pytest
from osiris.testing import ComponentContractTests
from osiris.testing.contracts import heavy_imports


class TestDuckDBProcessorContract(ComponentContractTests):
    component_name = "duckdb.processor"


def test_heavy_import_probe_sees_heavy_modules():
    assert heavy_imports("osiris.builtin.plugin") == []
    assert heavy_imports("pyarrow") == ["pyarrow"]


def test_probe_reports_a_module_that_fails_to_import():
    with pytest.raises(AssertionError, match="importing osiris_no_such_module failed"):
        heavy_imports("osiris_no_such_module")
