"""Prompts from the installed registry, pro-mode checks, and reading a proposal."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_support import PIPELINE, SECRET
from osiris.errors import InvalidInputError
from osiris.registry import build_registry
from osiris_llm.agent.proposal import describe, pipeline_name, write_effect, yaml_block
from osiris_llm.prompts import (
    PROMPT_FILES,
    authoring_guidance,
    export_prompts,
    fill,
    load_prompts,
)


def test_guidance_knows_an_installed_third_party_component(project):
    text = authoring_guidance(build_registry())
    assert 'oml_version: "0.1.0"' in text
    assert "## memtest.writer — Memtest JSON-lines writer (modes: write)" in text
    assert "config: path* (string)" in text
    assert 'example config: {"path": "output/movies.jsonl"}' in text
    assert "## duckdb.processor" in text and "hint inputs:" in text
    assert authoring_guidance(build_registry()) == text, "deterministic"


def test_exported_prompts_load_back_unchanged(tmp_path: Path):
    export_prompts(tmp_path)
    prompts = load_prompts(tmp_path)
    assert prompts.conversation_system == PROMPT_FILES["conversation_system.txt"]
    assert prompts.source == str(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{authoring_guidance} {sql}", "unknown placeholder {sql}"),
        (f"password {SECRET}", "contains a secret"),
        ("use postgresql://u:hunter22@db/x", "looks like a credential"),
        ("key sk-abcdefghijklmnopqrstuv", "looks like a credential"),
    ],
)
def test_a_bad_prompt_is_refused(tmp_path: Path, text: str, words: str):
    (tmp_path / "conversation_system.txt").write_text(text)
    with pytest.raises(InvalidInputError, match=words):
        load_prompts(tmp_path, [SECRET])


def test_missing_prompts_dir_says_how_to_make_it(tmp_path: Path):
    with pytest.raises(InvalidInputError, match="dump-prompts --export"):
        load_prompts(tmp_path / "nope")


def test_fill_keeps_literal_braces_and_does_not_refill_values():
    assert fill("{{x}} {a}", {"a": "{a}"}) == "{x} {a}"


def test_yaml_block_and_name():
    oml, rest = yaml_block(f"Sure.\n```yaml\n{PIPELINE}```\nDone.")
    assert oml == PIPELINE and rest == "Sure.\n\nDone."
    assert yaml_block("```yaml\nfoo: 1\n```") == (None, "```yaml\nfoo: 1\n```")
    assert pipeline_name(PIPELINE) == "copy-movies"
    assert pipeline_name("name: ../../Etc Passwd\n") == "etc-passwd"


def test_what_write_steps_do():
    assert write_effect({"connection": "@mysql.t", "table": "x", "mode": "replace"}) == (
        "replaces the whole contents of table x on @mysql.t"
    )
    upsert = {"connection": "@supabase.s", "table": "d", "write_mode": "upsert",
              "primary_key": ["id"], "create_if_missing": True}  # fmt: skip
    assert write_effect(upsert) == (
        "inserts or updates rows (by key) in table d on @supabase.s keyed by id;"
        " creates the table if it does not exist"
    )
    shown = describe(PIPELINE, ["read_movies", "write_movies"], folder="pipelines")
    assert shown["steps"][0]["effect"] == "reads movies from @memtest.default (read-only)"
    assert shown["steps"][1]["effect"].endswith("file pipelines/output/movies.jsonl")


def test_chat_docs_name_every_tool_and_setting():
    from osiris_llm.agent.tools import TOOLS
    from osiris_llm.settings import SCHEMA

    text = (Path(__file__).resolve().parents[2] / "docs" / "user" / "chat.md").read_text()
    for tool in TOOLS:
        assert f"| `{tool.name}` |" in text, tool.name
        for argument in tool.parameters.get("properties", {}):
            assert f"`{argument}" in text, (tool.name, argument)
    for key in SCHEMA["properties"]:
        assert f"| `{key}` |" in text, key
