"""The compiler: contract layout, determinism, fingerprints, ordering, atomic output."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import oml_support as support
import pytest
import yaml
from osiris.compiler import canonical_json, compile_pipeline, fingerprint
from osiris.errors import InvalidInputError
from osiris.oml import OmlValidationError

PIPELINE = """\
oml_version: "0.1.0"
name: movies
description: Movies per director.
params:
  limit: 10
steps:
  - id: write-stats
    component: supabase.writer
    mode: write
    needs: [stats]
    config:
      connection: "@supabase.main"
      table: director_stats
      write_mode: replace
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      query: SELECT * FROM movies LIMIT ${params.limit}
      limit: ${params.limit}
  - id: stats
    component: duckdb.processor
    mode: transform
    needs: [extract-movies]
    config:
      query: SELECT director_id, count(*) AS n FROM df_extract_movies GROUP BY 1
"""


def compile_to(tmp_path: Path, text: str = PIPELINE, out: str = "compiled", **kwargs):
    oml = support.write(tmp_path, text)
    kwargs.setdefault("registry", support.registry())
    kwargs.setdefault("env", {})
    return compile_pipeline(oml, tmp_path / out, **kwargs)


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_output_follows_the_contract(tmp_path):
    result = compile_to(tmp_path)
    out = tmp_path / "compiled"
    assert sorted(tree(out)) == [
        "cfg/extract-movies.json",
        "cfg/stats.json",
        "cfg/write-stats.json",
        "manifest.yaml",
        "meta.json",
    ]
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest == result.manifest
    fps = manifest["pipeline"].pop("fingerprints")
    assert manifest["pipeline"] == {
        "name": "movies",
        "description": "Movies per director.",
        "oml_version": "0.1.0",
        "source": "../pipeline.yaml",
        "profile": None,
    }
    assert sorted(fps) == ["compiler_fp", "oml_fp", "params_fp", "registry_fp"]
    assert manifest["steps"] == [
        {
            "id": "extract-movies",
            "component": "mysql.extractor",
            "mode": "extract",
            "driver": "osiris_driver_mysql.extractor:MySQLExtractor",
            "plugin": {"distribution": "osiris-driver-mysql", "version": "0.1.0"},
            "cfg_path": "cfg/extract-movies.json",
            "needs": [],
            "connection": "@mysql.default",
        },
        {
            "id": "stats",
            "component": "duckdb.processor",
            "mode": "transform",
            "driver": "osiris.builtin.duckdb_processor:DuckDBProcessor",
            "plugin": {"distribution": "osiris-core", "version": "0.1.0"},
            "cfg_path": "cfg/stats.json",
            "needs": ["extract-movies"],
            "connection": None,
        },
        {
            "id": "write-stats",
            "component": "supabase.writer",
            "mode": "write",
            "driver": "osiris_driver_supabase.writer:SupabaseWriter",
            "plugin": {"distribution": "osiris-driver-supabase", "version": "0.1.0"},
            "cfg_path": "cfg/write-stats.json",
            "needs": ["stats"],
            "connection": "@supabase.main",
        },
    ]
    cfg = (out / "cfg" / "extract-movies.json").read_text()
    assert cfg == (
        "{\n"
        '  "connection": "@mysql.default",\n'
        '  "limit": 10,\n'
        '  "query": "SELECT * FROM movies LIMIT 10"\n'
        "}\n"
    )
    meta = json.loads((out / "meta.json").read_text())
    assert meta == result.meta
    assert meta["compiler"] == {"name": "osiris-core", "version": "0.1.0"}
    assert meta["params"] == {"limit": 10}
    assert meta["fingerprints"] == {**fps, "manifest_fp": fingerprint(result.manifest)}
    assert all(v.startswith("sha256:") and len(v) == 71 for v in meta["fingerprints"].values())


def test_compiling_twice_gives_identical_bytes(tmp_path):
    compile_to(tmp_path)
    first = tree(tmp_path / "compiled")
    compile_to(tmp_path)  # over the previous output
    compile_to(tmp_path, out="elsewhere")
    assert tree(tmp_path / "compiled") == first
    assert tree(tmp_path / "elsewhere") == first  # source is relative, so the same too


def test_no_absolute_paths_timestamps_or_secrets_in_output(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSQL_PASSWORD", "hunter2-secret")
    compile_to(tmp_path)
    for name, data in tree(tmp_path / "compiled").items():
        text = data.decode()
        assert str(tmp_path) not in text, name
        assert "hunter2-secret" not in text, name
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text), name  # no timestamps


def test_output_dir_relative_to_a_nested_oml(tmp_path):
    (tmp_path / "pipelines").mkdir()
    oml = support.write(tmp_path / "pipelines", PIPELINE)
    result = compile_pipeline(oml, tmp_path / "build" / "out", registry=support.registry(), env={})
    assert result.manifest["pipeline"]["source"] == "../../pipelines/pipeline.yaml"


def test_oml_fp_follows_the_file_content_not_its_formatting(tmp_path):
    a = compile_to(tmp_path).meta["fingerprints"]
    reformatted = PIPELINE.replace("needs: [stats]", "needs:\n      - stats") + "# a comment\n"
    b = compile_to(tmp_path, reformatted).meta["fingerprints"]
    c = compile_to(tmp_path, PIPELINE.replace("Movies per", "Films per")).meta["fingerprints"]
    assert a == b
    assert c["oml_fp"] != a["oml_fp"] and c["registry_fp"] == a["registry_fp"]


def test_params_fp_follows_the_resolved_params(tmp_path):
    a = compile_to(tmp_path).meta["fingerprints"]
    b = compile_to(tmp_path, params={"limit": "10"}).meta["fingerprints"]
    c = compile_to(tmp_path, params={"limit": "11"}).meta["fingerprints"]
    assert a == b
    assert c["params_fp"] != a["params_fp"] and c["oml_fp"] == a["oml_fp"]
    assert c["manifest_fp"] != a["manifest_fp"]


def test_registry_fp_changes_only_with_used_components(tmp_path):
    base = compile_to(tmp_path).meta["fingerprints"]["registry_fp"]
    newer = compile_to(tmp_path, registry=support.registry(mysql_version="0.2.0"))
    assert newer.meta["fingerprints"]["registry_fp"] != base
    spec = copy.deepcopy(support.MYSQL_EXTRACTOR)
    spec["version"] = "1.0.1"
    changed = compile_to(tmp_path, registry=support.registry(mysql_spec=spec))
    assert changed.meta["fingerprints"]["registry_fp"] != base
    # A pipeline that does not use mysql.extractor is not affected by it.
    duck_only = PIPELINE.split("  - id: write-stats")[0] + (
        "  - id: only\n    component: duckdb.processor\n    mode: transform\n    needs: []\n"
        "    config: {query: SELECT 1}\n"
    )
    plain = compile_to(tmp_path, duck_only).meta["fingerprints"]["registry_fp"]
    other = compile_to(tmp_path, duck_only, registry=support.registry(mysql_spec=spec))
    assert other.meta["fingerprints"]["registry_fp"] == plain


def test_compiler_fp_is_the_core_version_and_format(tmp_path):
    from osiris.compiler.compile import compiler_identity

    result = compile_to(tmp_path)
    assert result.meta["fingerprints"]["compiler_fp"] == fingerprint(compiler_identity())
    assert compiler_identity()["name"] == "osiris-core"


def test_profile_is_recorded(tmp_path):
    text = PIPELINE.replace(
        "params:\n  limit: 10\n", "params:\n  limit: 10\nprofiles:\n  small: {limit: 1}\n"
    )
    result = compile_to(tmp_path, text, profile="small")
    assert result.manifest["pipeline"]["profile"] == "small"
    assert result.meta["params"] == {"limit": 1}


def test_topological_order_ties_by_declaration(tmp_path):
    text = 'oml_version: "0.1.0"\nname: order\nsteps:\n' + "".join(
        f"  - id: {sid}\n    component: duckdb.processor\n    mode: transform\n    needs: {needs}\n"
        f"    config: {{query: SELECT 1}}\n"
        for sid, needs in [("d", "[b, c]"), ("c", "[a]"), ("b", "[]"), ("a", "[]"), ("e", "[]")]
    )
    result = compile_to(tmp_path, text)
    assert [s["id"] for s in result.manifest["steps"]] == ["b", "a", "c", "d", "e"]


def test_invalid_pipeline_raises_with_issues_and_writes_nothing(tmp_path):
    with pytest.raises(OmlValidationError) as info:
        compile_to(tmp_path, PIPELINE.replace("SELECT * FROM movies", "DELETE FROM movies"))
    assert info.value.exit_code == 2
    assert [i.path for i in info.value.errors] == ["steps[1].config.query"]
    assert "pipeline.yaml is not valid OML (1 error): steps[1].config.query:" in str(info.value)
    assert not (tmp_path / "compiled").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["pipeline.yaml"]


def test_failed_compile_keeps_the_previous_output(tmp_path):
    compile_to(tmp_path)
    before = tree(tmp_path / "compiled")
    with pytest.raises(OmlValidationError):
        compile_to(tmp_path, PIPELINE.replace("write_mode: replace", "write_mode: nope"))
    assert tree(tmp_path / "compiled") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compiled", "pipeline.yaml"]


def test_refuses_to_replace_a_directory_it_did_not_write(tmp_path):
    (tmp_path / "compiled").mkdir()
    (tmp_path / "compiled" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not a previous compile output"):
        compile_to(tmp_path)
    assert (tmp_path / "compiled" / "notes.txt").read_text() == "mine"


def test_canonical_json_is_sorted_compact_and_unicode():
    assert canonical_json({"b": 1, "a": ["é", 2.5]}) == '{"a":["é",2.5],"b":1}'
    assert fingerprint({"a": 1}) == fingerprint({"a": 1})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_example_pipeline_compiles_with_core_alone(tmp_path):
    example = Path(__file__).parents[2] / "examples" / "pipelines" / "duckdb_only.yaml"
    result = compile_pipeline(example, tmp_path / "out", env={})
    assert [s["id"] for s in result.manifest["steps"]] == ["numbers", "parity"]
    cfg = json.loads((tmp_path / "out" / "cfg" / "numbers.json").read_text())
    assert cfg == {"query": "SELECT range AS n FROM range(100)"}


def test_a_write_that_fails_midway_leaves_the_previous_output(tmp_path, monkeypatch):
    import osiris.compiler.compile as compile_module

    compile_to(tmp_path)
    before = tree(tmp_path / "compiled")
    real = compile_module.pretty_json

    def failing(value):
        if "compiler" in value:  # meta.json, written last
            raise OSError("disk full")
        return real(value)

    monkeypatch.setattr(compile_module, "pretty_json", failing)
    with pytest.raises(OSError, match="disk full"):
        compile_to(tmp_path, PIPELINE.replace("LIMIT", "LIMIT 1 +"))
    assert tree(tmp_path / "compiled") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compiled", "pipeline.yaml"]
