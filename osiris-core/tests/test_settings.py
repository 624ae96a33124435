"""osiris.yaml settings: precedence, parsing, errors that name the source, plugin sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from osiris.errors import InvalidInputError
from osiris.settings import CORE_SECTIONS, SettingsSection, load_settings

LLM = SettingsSection(
    "llm",
    {
        "type": "object",
        "properties": {
            "provider": {"type": "string", "default": "openai"},
            "model": {"type": ["string", "null"], "default": None},
            "temperature": {"type": "number", "minimum": 0, "default": 0},
            "max_tokens": {"type": ["integer", "null"], "default": None},
            "send_samples": {"type": "boolean", "default": True},
        },
        "additionalProperties": False,
    },
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "osiris.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_cli_env_yaml_default(tmp_path: Path) -> None:
    _write(tmp_path, "llm:\n  provider: anthropic\n  model: from-yaml\n  temperature: 0.5\n")
    settings = load_settings(
        cli={"llm": {"model": "from-cli", "provider": None}},
        environ={"OSIRIS_LLM_TEMPERATURE": "0.25", "OSIRIS_LLM_PROVIDER": "ollama"},
        sections=[LLM],
        cwd=tmp_path,
    )
    assert settings.section("llm") == {
        "provider": "ollama",
        "model": "from-cli",
        "temperature": 0.25,
        "max_tokens": None,
        "send_samples": True,
    }
    assert [
        settings.source("llm", k) for k in ("model", "provider", "temperature", "max_tokens")
    ] == [
        "CLI",
        "ENV",
        "ENV",
        "DEFAULT",
    ]
    assert settings.path == tmp_path / "osiris.yaml"
    assert settings.effective()["llm"]["model"] == {"value": "from-cli", "source": "CLI"}


def test_yaml_source_and_osiris_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _write(home, "llm:\n  send_samples: false\n")
    settings = load_settings(environ={"OSIRIS_HOME": str(home)}, sections=[LLM], cwd=tmp_path)
    assert settings.get("llm", "send_samples") is False
    assert settings.source("llm", "send_samples") == "YAML"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("no", False), ("1", True), ("TRUE", True), ("off", False)],
)
def test_env_booleans(tmp_path: Path, text: str, expected: bool) -> None:
    env = {"OSIRIS_LLM_SEND_SAMPLES": text}
    assert (
        load_settings(environ=env, sections=[LLM], cwd=tmp_path).get("llm", "send_samples")
        is expected
    )


def test_env_null_and_integer(tmp_path: Path) -> None:
    env = {"OSIRIS_LLM_MAX_TOKENS": "512", "OSIRIS_LLM_MODEL": ""}
    settings = load_settings(environ=env, sections=[LLM], cwd=tmp_path)
    assert settings.get("llm", "max_tokens") == 512
    assert settings.get("llm", "model") is None


def test_env_value_that_does_not_parse_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidInputError, match=r"OSIRIS_LLM_MAX_TOKENS='lots' is not a valid integer"
    ):
        load_settings(environ={"OSIRIS_LLM_MAX_TOKENS": "lots"}, sections=[LLM], cwd=tmp_path)


def test_unknown_key_names_file_and_known_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "llm:\n  modle: x\n")
    with pytest.raises(InvalidInputError) as err:
        load_settings(environ={}, sections=[LLM], cwd=tmp_path)
    assert f"Unknown setting 'llm.modle' in {path}" in str(err.value)
    assert "provider, model, temperature" in str(err.value)


def test_schema_violation_names_the_source(tmp_path: Path) -> None:
    path = _write(tmp_path, "llm:\n  temperature: -1\n")
    with pytest.raises(InvalidInputError, match=rf"'llm.temperature' from {path} is invalid"):
        load_settings(environ={}, sections=[LLM], cwd=tmp_path)
    with pytest.raises(InvalidInputError, match="from OSIRIS_LLM_TEMPERATURE is invalid"):
        load_settings(environ={"OSIRIS_LLM_TEMPERATURE": "-2"}, sections=[LLM], cwd=tmp_path)


def test_undeclared_section_is_kept_not_refused(tmp_path: Path) -> None:
    _write(tmp_path, "e2b:\n  template: base\n")
    settings = load_settings(environ={}, sections=[LLM], cwd=tmp_path)
    assert settings.undeclared == {"e2b": {"template": "base"}}


def test_bad_files(tmp_path: Path) -> None:
    _write(tmp_path, "llm: [1, 2]\n")
    with pytest.raises(InvalidInputError, match=r"'llm' in .* must be a mapping"):
        load_settings(environ={}, sections=[LLM], cwd=tmp_path)
    _write(tmp_path, "llm:\n  model: a\n  model: b\n")
    with pytest.raises(
        InvalidInputError, match=r"not valid YAML \(line 3\): duplicate key 'model'"
    ):
        load_settings(environ={}, sections=[LLM], cwd=tmp_path)
    with pytest.raises(InvalidInputError, match=r"Settings file .*missing.yaml does not exist"):
        load_settings(path="missing.yaml", environ={}, sections=[LLM], cwd=tmp_path)


def test_core_sections_come_from_the_builtin_plugin(tmp_path: Path) -> None:
    settings = load_settings(environ={"OSIRIS_AIOP_ENABLED": "false"}, cwd=tmp_path)
    assert settings.get("aiop", "enabled") is False
    assert settings.get("discovery", "samples") == CORE_SECTIONS[1].default("samples")
    assert {"aiop", "discovery"} <= set(settings.effective())


def test_validate_shows_settings_not_at_their_default(tmp_path: Path, monkeypatch) -> None:
    from osiris.cli.main import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OSIRIS_DISCOVERY_SAMPLES", "2")
    _write(tmp_path, "aiop:\n  enabled: false\n")
    result = CliRunner().invoke(cli, ["validate", "--json"])
    checks = {c["area"]: c for c in json.loads(result.output)["checks"]}
    assert checks["settings"]["level"] == "ok"
    assert "aiop.enabled=false (YAML)" in checks["settings"]["message"]
    assert "discovery.samples=2 (ENV)" in checks["settings"]["message"]
