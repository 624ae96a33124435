"""Opt-in: a real local model through the OpenAI-compatible path (never part of CI).

    OSIRIS_LLM_LIVE_BASE_URL=http://localhost:11434/v1 OSIRIS_LLM_LIVE_MODEL=qwen2.5:0.5b \\
        .venv/bin/pytest osiris-llm/tests/test_live_model.py
"""

from __future__ import annotations

import os

import pytest
from osiris.llm import ChatRequest, Message, ProviderConfig, ToolSpec
from osiris_llm.providers.openai_chat import OpenAIProvider

BASE_URL = os.environ.get("OSIRIS_LLM_LIVE_BASE_URL")
MODEL = os.environ.get("OSIRIS_LLM_LIVE_MODEL", "qwen2.5:0.5b")
pytestmark = pytest.mark.skipif(not BASE_URL, reason="set OSIRIS_LLM_LIVE_BASE_URL to run")


def provider() -> OpenAIProvider:
    return OpenAIProvider(ProviderConfig(model=MODEL, base_url=BASE_URL, timeout_s=120))


def test_a_real_model_answers_and_streams():
    deltas: list[str] = []
    reply = provider().chat(
        ChatRequest(messages=[Message("user", "Say hello in one word.")], max_tokens=16),
        on_text=deltas.append,
    )
    assert reply.text.strip() and "".join(deltas) == reply.text
    assert reply.usage.output_tokens > 0


def test_a_real_model_calls_a_tool_or_says_it_cannot():
    tool = ToolSpec(
        "list_connections",
        "List the project's data connections.",
        {"type": "object", "properties": {}},
    )
    request = ChatRequest(messages=[Message("user", "Which connections exist?")], tools=[tool])
    reply = provider().chat(request)
    assert reply.tool_calls or reply.text
