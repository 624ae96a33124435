"""Core's contract suites, applied to every filesystem component and the family."""

from __future__ import annotations

from osiris.testing import ComponentContractTests, ConnectionFamilyContractTests


class TestCsvExtractorContract(ComponentContractTests):
    component_name = "filesystem.csv_extractor"


class TestCsvWriterContract(ComponentContractTests):
    component_name = "filesystem.csv_writer"


class TestParquetExtractorContract(ComponentContractTests):
    component_name = "filesystem.parquet_extractor"


class TestParquetWriterContract(ComponentContractTests):
    component_name = "filesystem.parquet_writer"


class TestJsonExtractorContract(ComponentContractTests):
    component_name = "filesystem.json_extractor"


class TestJsonWriterContract(ComponentContractTests):
    component_name = "filesystem.json_writer"


class TestFilesystemFamilyContract(ConnectionFamilyContractTests):
    family_name = "filesystem"
