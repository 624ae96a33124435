"""The real openai and anthropic SDKs against the local test server: replies, tools, streams,
errors, and the client's retries and fallback."""

from __future__ import annotations

import threading

import pytest
from osiris.llm import (
    ChatRequest,
    LLMAuthError,
    LLMConnectionError,
    LLMMalformedReplyError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMRefusalError,
    LLMServerError,
    LLMTimeoutError,
    Message,
    ProviderConfig,
    ToolCall,
    ToolSpec,
)
from osiris_llm.client import LLMClient
from osiris_llm.providers.anthropic_messages import AnthropicProvider
from osiris_llm.providers.openai_chat import OpenAIProvider
from osiris_llm.testing import LLMTestServer, Turn

TOOL = ToolSpec(
    "discover",
    "Tables of a connection.",
    {"type": "object", "properties": {"connection": {"type": "string"}}},
)


@pytest.fixture
def server():
    with LLMTestServer() as s:
        yield s


def make(kind: str, server: LLMTestServer, **config):
    if kind == "openai":
        url = server.openai_url
        cls = OpenAIProvider
    else:
        url = server.anthropic_url
        cls = AnthropicProvider
    settings = {"model": "m-main", "api_key": "sk-test-key", "base_url": url, "timeout_s": 5}
    return cls(ProviderConfig(**{**settings, **config}))


BOTH = pytest.mark.parametrize("kind", ["openai", "anthropic"])


@BOTH
@pytest.mark.parametrize("stream", [False, True])
def test_text_reply_with_usage(server, kind, stream):
    server.script(Turn(text="Hello there, data person.", input_tokens=42, output_tokens=7))
    deltas: list[str] = []
    reply = make(kind, server).chat(
        ChatRequest(messages=[Message("user", "hi")], system="be brief"),
        on_text=deltas.append if stream else None,
    )
    assert reply.text == "Hello there, data person."
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (42, 7)
    assert reply.stop_reason == "end"
    assert reply.model == "m-main"
    if stream:
        assert len(deltas) > 1 and "".join(deltas) == reply.text
    body = server.requests[0]["body"]
    assert body["model"] == "m-main"
    if kind == "openai":
        assert body["temperature"] == 0
        assert body["messages"][0] == {"role": "system", "content": "be brief"}
    else:
        assert body["system"] == "be brief"
        assert body["max_tokens"] == 4096


@BOTH
@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_with_arguments_parsed(server, kind, stream):
    args = {"connection": "@mysql.db_movies", "tables": ["movies", "directors"]}
    server.script(Turn(text="Looking.", tool_calls=[("discover", args), ("list_connections", {})]))
    reply = make(kind, server).chat(
        ChatRequest(messages=[Message("user", "copy")], tools=[TOOL]),
        on_text=(lambda _t: None) if stream else None,
    )
    assert [c.name for c in reply.tool_calls] == ["discover", "list_connections"]
    assert reply.tool_calls[0].arguments == args
    assert reply.tool_calls[1].arguments == {}
    assert reply.stop_reason == "tool_calls"
    tools = server.requests[0]["body"]["tools"]
    if kind == "openai":
        assert tools[0]["function"]["name"] == "discover"
        assert tools[0]["function"]["parameters"]["properties"] == {
            "connection": {"type": "string"}
        }
    else:
        assert tools[0]["input_schema"]["type"] == "object"


@BOTH
def test_history_with_tool_results_goes_over_the_wire(server, kind):
    server.script(Turn(text="ok"))
    history = [
        Message("user", "copy"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "discover", {"connection": "@x.y"}),)),
        Message("tool", '{"tables": []}', tool_call_id="c1"),
        Message("user", "and then?"),
    ]
    make(kind, server).chat(ChatRequest(messages=history, tools=[TOOL]))
    sent = server.requests[0]["body"]["messages"]
    if kind == "openai":
        assert sent[1]["tool_calls"][0]["function"] == {
            "name": "discover",
            "arguments": '{"connection": "@x.y"}',
        }
        assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": '{"tables": []}'}
    else:
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert sent[1]["content"][0] == {
            "type": "tool_use",
            "id": "c1",
            "name": "discover",
            "input": {"connection": "@x.y"},
        }
        result, text = sent[2]["content"]
        assert result["type"] == "tool_result" and result["tool_use_id"] == "c1"
        assert text == {"type": "text", "text": "and then?"}


@BOTH
def test_key_is_sent_to_the_server(server, kind):
    server.script(Turn(text="ok"))
    make(kind, server).chat(ChatRequest(messages=[Message("user", "hi")]))
    headers = server.requests[0]["headers"]
    assert "sk-test-key" in headers.get("authorization", "") + headers.get("x-api-key", "")


@BOTH
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, LLMAuthError),
        (404, LLMModelNotFoundError),
        (429, LLMRateLimitError),
        (500, LLMServerError),
        (503, LLMServerError),
    ],
)
def test_http_errors_are_typed(server, kind, status, error):
    server.script(Turn(status=status, error="nope"))
    with pytest.raises(error) as caught:
        make(kind, server).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert caught.value.retryable == (status >= 429)
    assert len(server.requests) == 1, "the SDK must not retry on its own"


@BOTH
def test_slow_reply_is_a_timeout(server, kind):
    release = threading.Event()
    server.script(Turn(text="late", hold=release))
    try:
        with pytest.raises(LLMTimeoutError, match=r"did not answer within 0\.3 s"):
            make(kind, server, timeout_s=0.3).chat(ChatRequest(messages=[Message("user", "hi")]))
    finally:
        release.set()


@BOTH
def test_a_slow_reply_within_the_timeout_is_a_reply(server, kind):
    server.script(Turn(text="eventually", delay_s=0.5))
    reply = make(kind, server, timeout_s=10).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert reply.text == "eventually"


@BOTH
def test_unreachable_server(kind):
    provider = (OpenAIProvider if kind == "openai" else AnthropicProvider)(
        ProviderConfig(model="m", api_key="k", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    )
    with pytest.raises(LLMConnectionError, match="Cannot reach"):
        provider.chat(ChatRequest(messages=[Message("user", "hi")]))


@pytest.mark.parametrize(
    ("kind", "stream"), [("openai", False), ("openai", True), ("anthropic", True)]
)  # a non-streamed anthropic tool input arrives as a JSON object already
def test_tool_arguments_that_are_not_json_are_malformed(server, kind, stream):
    server.script(Turn(tool_calls=[("discover", {})], raw_arguments='{"connection": '))
    with pytest.raises(LLMMalformedReplyError, match="not JSON"):
        make(kind, server).chat(
            ChatRequest(messages=[Message("user", "x")], tools=[TOOL]),
            on_text=(lambda _t: None) if stream else None,
        )


def test_refusal(server):
    server.script(Turn(text="", stop_reason="refusal"))
    with pytest.raises(LLMRefusalError):
        make("anthropic", server).chat(ChatRequest(messages=[Message("user", "x")]))
    server.script(Turn(text="", stop_reason="content_filter"))
    with pytest.raises(LLMRefusalError):
        make("openai", server).chat(ChatRequest(messages=[Message("user", "x")]))


@BOTH
def test_client_retries_then_succeeds(server, kind):
    server.script(Turn(status=429), Turn(status=500), Turn(text="fine"))
    events: list[tuple[str, dict]] = []
    waits: list[float] = []
    client = LLMClient(
        make(kind, server), sink=lambda n, **f: events.append((n, f)), sleep=waits.append
    )
    reply = client.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert reply.text == "fine"
    assert waits == [0.0, 0.0], "the server's retry-after 0 is honoured"
    names = [n for n, _ in events]
    assert names == [
        "llm_request",
        "llm_error",
        "llm_request",
        "llm_error",
        "llm_request",
        "llm_response",
    ]
    response = events[-1][1]
    assert response["tokens_in"] == 11 and response["tokens_out"] == 5
    assert isinstance(response["latency_ms"], int)


@BOTH
def test_client_falls_back_after_bounded_retries(server, kind):
    server.script(*[Turn(status=503)] * 4, Turn(text="from fallback"))
    events: list[str] = []
    client = LLMClient(
        make(kind, server),
        fallback_model="m-small",
        sink=lambda n, **f: events.append(n),
        sleep=lambda _s: None,
    )
    reply = client.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert reply.text == "from fallback"
    models = [b["model"] for b in server.bodies()]
    assert models == ["m-main"] * 4 + ["m-small"]
    assert "llm_fallback" in events


def test_client_gives_up_with_one_sentence(server):
    server.script(*[Turn(status=500)] * 8)
    client = LLMClient(make("openai", server), fallback_model="m-b", sleep=lambda _s: None)
    with pytest.raises(LLMServerError, match=r"gave up after 4 attempts on m-main and m-b"):
        client.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert len(server.requests) == 8


def test_auth_error_is_not_retried(server):
    server.script(Turn(status=401), Turn(text="never"))
    client = LLMClient(make("openai", server), fallback_model="other", sleep=lambda _s: None)
    with pytest.raises(LLMAuthError):
        client.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert len(server.requests) == 1
