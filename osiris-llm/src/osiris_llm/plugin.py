"""Entry point of osiris-llm: the openai and anthropic providers, the chat and MCP commands.

Import-cheap: the SDKs, rich and the agent load only when a command or provider runs.
"""

from __future__ import annotations

from typing import Any

from osiris import hookimpl


@hookimpl
def register_llm_providers() -> list[type]:
    from osiris_llm.providers.anthropic_messages import AnthropicProvider
    from osiris_llm.providers.openai_chat import OpenAIProvider

    return [OpenAIProvider, AnthropicProvider]


@hookimpl
def register_settings() -> list:
    from osiris_llm.settings import settings_section

    return [settings_section()]


@hookimpl
def register_commands(cli: Any) -> None:
    register_chat_commands(cli)
    register_mcp_commands(cli)


def register_chat_commands(cli: Any) -> None:
    """``osiris chat``, ``osiris llm``, ``osiris dump-prompts`` (each module imports lazily)."""
    from osiris_llm.cli import chat_cmd, llm_cmd, prompts_cmd

    cli.add_command(chat_cmd.chat)
    cli.add_command(llm_cmd.llm)
    cli.add_command(prompts_cmd.dump_prompts)


def register_mcp_commands(cli: Any) -> None:
    """``osiris mcp serve|config`` (the SDK loads only when a server starts)."""
    from osiris_llm.mcp.cli import mcp

    cli.add_command(mcp)
