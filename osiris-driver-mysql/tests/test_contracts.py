"""Core's contract suites applied to the mysql components and family."""

from __future__ import annotations

from osiris.testing import ComponentContractTests, ConnectionFamilyContractTests


class TestMySQLExtractorContract(ComponentContractTests):
    component_name = "mysql.extractor"


class TestMySQLWriterContract(ComponentContractTests):
    component_name = "mysql.writer"


class TestMySQLFamilyContract(ConnectionFamilyContractTests):
    family_name = "mysql"
