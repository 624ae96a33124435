"""The ``llm:`` section of ``osiris.yaml`` and the provider it selects.

Precedence (resolved by ``osiris.settings``): CLI flags > ``OSIRIS_LLM_*`` > ``osiris.yaml`` >
the defaults below. The SDKs' own variables work as their users expect: ``OPENAI_API_KEY`` /
``ANTHROPIC_API_KEY`` are the default key variables, ``OPENAI_BASE_URL`` /
``ANTHROPIC_BASE_URL`` the default base URLs when ``llm.base_url`` is unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osiris.errors import InvalidInputError

SECTION = "llm"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "provider": {
            "type": "string",
            "default": "openai",
            "description": "LLM provider name (osiris llm providers lists them).",
        },
        "model": {
            "type": ["string", "null"],
            "default": None,
            "description": "Model name; unset: the provider's default model.",
        },
        "fallback_model": {
            "type": ["string", "null"],
            "default": None,
            "description": "Model tried once the main model keeps failing with 429/5xx.",
        },
        "base_url": {
            "type": ["string", "null"],
            "default": None,
            "description": "Server URL (OpenAI-compatible: Ollama http://localhost:11434/v1).",
        },
        "api_key_env": {
            "type": ["string", "null"],
            "default": None,
            "description": "Name of the variable holding the key (default OPENAI_API_KEY, ...).",
        },
        "temperature": {"type": "number", "default": 0, "description": "Sampling temperature."},
        "max_tokens": {
            "type": ["integer", "null"],
            "default": None,
            "description": "Most tokens per reply (unset: the provider's default).",
        },
        "timeout_s": {
            "type": "number",
            "default": 60,
            "description": "Seconds one model call may take.",
        },
        "send_samples": {
            "type": "boolean",
            "default": True,
            "description": "Whether the model may read sample rows (the sample tool).",
        },
        "max_tool_rounds": {
            "type": "integer",
            "default": 12,
            "description": "Model calls with tool use per user message before the chat stops.",
        },
        "max_regenerations": {
            "type": "integer",
            "default": 1,
            "description": "Times an invalid proposal goes back to the model with its errors.",
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class LLMSettings:
    provider: str = "openai"
    model: str | None = None
    fallback_model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    timeout_s: float = 60.0
    send_samples: bool = True
    max_tool_rounds: int = 12
    max_regenerations: int = 1
    sources: Mapping[str, str] | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], sources: Mapping[str, str] | None = None):
        known = {k: values[k] for k in SCHEMA["properties"] if k in values}
        return cls(**known, sources=dict(sources or {}))


def settings_section() -> Any:
    from osiris.settings import SettingsSection

    return SettingsSection(name=SECTION, schema=SCHEMA, distribution="osiris-llm")


def load_llm_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    path: Any = None,
    environ: Mapping[str, str] | None = None,
    cwd: Any = None,
) -> LLMSettings:
    """Resolve the section: CLI > OSIRIS_LLM_* > osiris.yaml > defaults."""
    from osiris.settings import load_settings

    given = {k: v for k, v in (cli or {}).items() if v is not None}
    settings = load_settings(cli={SECTION: given}, path=path, environ=environ, cwd=cwd)
    values = settings.section(SECTION)
    return LLMSettings.from_mapping(values, {key: settings.source(SECTION, key) for key in values})


@dataclass(frozen=True)
class ProviderChoice:
    """The provider class and the config it is built with, plus where the key came from."""

    cls: type
    config: Any
    key_variable: str | None

    def build(self) -> Any:
        return self.cls(self.config)


def choose_provider(
    settings: LLMSettings,
    registry: Any,
    environ: Mapping[str, str] | None = None,
    project_dir: Any = None,
) -> ProviderChoice:
    """The configured provider with model, base URL and key resolved (exit 2 when unusable).

    Variables come from the environment, then from the project's ``.env`` (as for connections).
    """
    from osiris.llm import ProviderConfig, missing_key_error
    from osiris.masking import process_masker

    env = {**_dotenv(project_dir), **(os.environ if environ is None else environ)}
    cls = registry.llm_provider(settings.provider)
    base_url = settings.base_url or (env.get(cls.base_url_env) if cls.base_url_env else None)
    variable = settings.api_key_env or cls.api_key_env
    key = env.get(variable) if variable else None
    if settings.api_key_env and not key:
        raise missing_key_error(cls.name, settings.api_key_env)
    if not key and not base_url and variable:
        # the hosted service needs a key; a local server (base_url) usually takes any
        raise missing_key_error(cls.name, variable)
    if key:
        process_masker.add_secrets([key])
    model = settings.model or cls.default_model
    if not model:
        raise InvalidInputError(
            f"The {cls.name} provider has no default model.", hint="Set llm.model or --model."
        )
    config = ProviderConfig(
        model=model, api_key=key or None, base_url=base_url, timeout_s=float(settings.timeout_s)
    )
    return ProviderChoice(cls, config, variable if key else None)


def _dotenv(project_dir: Any) -> dict[str, str]:
    from pathlib import Path

    from osiris.connections.variables import read_dotenv

    path = Path(project_dir or ".") / ".env"
    return read_dotenv(path) if path.is_file() else {}
