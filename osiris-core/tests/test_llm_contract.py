"""The provider contract of osiris.llm: messages round-trip, tool arguments, complete()."""

from __future__ import annotations

import pytest
from osiris.llm import (
    ChatRequest,
    LLMMalformedReplyError,
    LLMProvider,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
    Message,
    ProviderConfig,
    Reply,
    ToolCall,
    parse_tool_arguments,
)


def test_message_round_trips_through_json():
    message = Message("assistant", "hi", tool_calls=(ToolCall("c1", "discover", {"a": [1]}),))
    assert Message.from_json(message.to_json()) == message
    tool = Message("tool", '{"x": 1}', tool_call_id="c1", is_error=True)
    assert Message.from_json(tool.to_json()) == tool


def test_tool_arguments_must_be_a_json_object():
    assert parse_tool_arguments("t", '{"a": 1}') == {"a": 1}
    assert parse_tool_arguments("t", "") == {}
    assert parse_tool_arguments("t", {"b": 2}) == {"b": 2}
    for bad in ('{"a": ', "[1, 2]", "7"):
        with pytest.raises(LLMMalformedReplyError, match="tool 't'"):
            parse_tool_arguments("t", bad)


def test_only_rate_limits_and_server_errors_are_retryable():
    assert LLMRateLimitError.retryable and LLMServerError.retryable
    assert not LLMTimeoutError.retryable and not LLMMalformedReplyError.retryable


class Echo(LLMProvider):
    name = "echo"

    def chat(self, request: ChatRequest, *, on_text=None) -> Reply:
        text = (
            f"{request.system}|{request.model or self.config.model}|{request.messages[-1].content}"
        )
        if on_text:
            on_text(text)
        return Reply(text=text)


def test_complete_is_chat_without_tools():
    provider = Echo(ProviderConfig(model="m"))
    assert provider.complete([{"role": "user", "content": "q"}], system="s") == "s|m|q"
