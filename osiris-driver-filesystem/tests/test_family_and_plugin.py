"""The filesystem connection family and the plugin's registration."""

from __future__ import annotations

import json
import os

import jsonschema
import pyarrow as pa
import pytest
from osiris.registry import build_registry
from osiris_driver_filesystem.family import FilesystemFamily
from osiris_driver_filesystem.parquet_io import ParquetWriter
from osiris_driver_filesystem.plugin import COMPONENTS


def test_doctor_ok_missing_and_not_a_directory(tmp_path):
    family = FilesystemFamily()
    ok = family.doctor({"base_dir": str(tmp_path)})
    assert ok.ok and ok.category == "ok" and ok.latency_ms is not None
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    missing = family.doctor({"base_dir": str(tmp_path / "nope")})
    assert (missing.ok, missing.category) == (False, "config")
    assert missing.message == f"base_dir {tmp_path / 'nope'} does not exist."
    (tmp_path / "f").write_text("x")
    assert family.doctor({"base_dir": str(tmp_path / "f")}).message.endswith("is not a directory.")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_doctor_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        result = FilesystemFamily().doctor({"base_dir": str(ro)})
    finally:
        ro.chmod(0o700)
    assert (result.ok, result.category) == (False, "permission")


def test_schema_requires_base_dir():
    validator = jsonschema.Draft202012Validator(FilesystemFamily.schema)
    assert not list(validator.iter_errors({"base_dir": "./data"}))
    assert [e.message for e in validator.iter_errors({})] == ["'base_dir' is a required property"]


def test_discover_lists_files_with_schema_and_samples(tmp_path, fs_run):
    (tmp_path / "sub").mkdir()
    (tmp_path / "movies.csv").write_text("id,title\n1,Alien\n2,Amélie\n3,Heat\n")
    (tmp_path / "sub" / "e.jsonl").write_text('{"k": 1.5}\n')
    fs_run(ParquetWriter(), tmp_path, {"path": "p.parquet"}, pa.table({"b": [b"\x01"]}))
    (tmp_path / "broken.csv").write_bytes(b"a,b\n1,2,3\n")
    (tmp_path / "readme.txt").write_text("not data")
    found = FilesystemFamily().discover({"base_dir": str(tmp_path)}, samples=2)
    by_name = {t["name"]: t for t in found["tables"]}
    assert sorted(by_name) == ["broken.csv", "movies.csv", "p.parquet", "sub/e.jsonl"]
    assert by_name["movies.csv"]["columns"] == [
        {"name": "id", "type": "int64"},
        {"name": "title", "type": "string"},
    ]
    assert by_name["movies.csv"]["sample_rows"] == [
        {"id": 1, "title": "Alien"},
        {"id": 2, "title": "Amélie"},
    ]
    assert by_name["p.parquet"]["sample_rows"] == [{"b": "AQ=="}]
    assert by_name["sub/e.jsonl"]["format"] == "json"
    assert "malformed CSV" in by_name["broken.csv"]["error"]
    json.dumps(found)  # serialisable as is
    only = FilesystemFamily().discover({"base_dir": str(tmp_path)}, tables=["movies.csv"])
    assert [t["name"] for t in only["tables"]] == ["movies.csv"]


def test_registry_has_every_component_with_provenance():
    registry = build_registry()
    for name in COMPONENTS:
        component = registry.component(name)
        assert component.distribution == "osiris-driver-filesystem"
        assert component.load_driver_class().__name__.endswith(("Extractor", "Writer"))
        assert component.spec["llmHints"]
    assert registry.family("filesystem").name == "filesystem"


def test_oml_connection_is_optional_and_never_defaulted(tmp_path):
    """Without config.connection, paths stay relative to the pipeline: no '@filesystem' default."""
    from osiris.oml import load_document, validate_document

    path = tmp_path / "p.yaml"
    path.write_text(
        'oml_version: "0.1.0"\nname: t\nsteps:\n'
        "  - {id: a, component: filesystem.csv_extractor, mode: read,"
        ' config: {path: x.csv, connection: "@filesystem.lake"}}\n'
        "  - {id: b, component: filesystem.csv_writer, mode: write, needs: [a],"
        " config: {path: y.csv}}\n"
        "  - {id: c, component: filesystem.csv_writer, mode: write, needs: [a],"
        " config: {path: z.csv, sep: ';'}}\n"
    )
    _, issues = validate_document(load_document(path), build_registry())
    assert [(i.path, i.severity) for i in issues] == [("steps[2].config.sep", "error")]
    path.write_text(path.read_text().replace(", sep: ';'", ""))
    pipeline, issues = validate_document(load_document(path), build_registry())
    assert issues == []
    configs = {step.id: step.config for step in pipeline.steps}
    assert configs["a"]["connection"] == "@filesystem.lake"
    assert "connection" not in configs["b"]


def test_config_properties_use_only_json_schema_keywords():
    """Guards the spec YAML: a comma inside a flow mapping silently makes a bogus keyword."""
    keywords = {"type", "minLength", "maxLength", "default", "description", "items", "enum"}
    keywords |= {"minimum", "additionalProperties", "pattern", "oneOf"}
    registry = build_registry()
    for name in COMPONENTS:
        for field, schema in registry.component(name).config_schema["properties"].items():
            assert set(schema) <= keywords, (name, field, set(schema) - keywords)
