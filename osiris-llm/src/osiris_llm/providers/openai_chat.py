"""``openai``: OpenAI's chat completions, and every server that speaks them through ``base_url``
(Ollama ``:11434/v1``, vLLM ``:8000/v1``, llama.cpp ``:8080/v1``, LM Studio ``:1234/v1``)."""

from __future__ import annotations

import json
from typing import Any

from osiris.llm import (
    ChatRequest,
    LLMMalformedReplyError,
    LLMProvider,
    LLMRefusalError,
    Message,
    Reply,
    TextCallback,
    ToolCall,
    Usage,
    parse_tool_arguments,
)

from osiris_llm.providers.errors import translate

_STOP = {
    "stop": "end",
    "tool_calls": "tool_calls",
    "length": "max_tokens",
    "function_call": "tool_calls",
}


class OpenAIProvider(LLMProvider):
    name = "openai"
    default_model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    description = "OpenAI chat completions; any OpenAI-compatible server through base_url."

    def chat(self, request: ChatRequest, *, on_text: TextCallback | None = None) -> Reply:
        import openai

        model = request.model or self.config.model
        timeout = request.timeout_s or self.config.timeout_s
        client = openai.OpenAI(
            api_key=self.config.api_key or "not-needed",
            base_url=self.config.base_url,
            timeout=timeout,
            max_retries=0,  # retries and the fallback model are the agent's, bounded and logged
        )
        params: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(request.system, request.messages),
            "temperature": request.temperature,
        }
        if request.max_tokens:
            params["max_tokens"] = request.max_tokens
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": dict(t.parameters),
                    },
                }
                for t in request.tools
            ]
        where = str(client.base_url).rstrip("/")
        try:
            if on_text is None:
                return _read_reply(client.chat.completions.create(**params), model)
            stream = client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            return _read_stream(stream, model, on_text)
        except openai.OpenAIError as exc:
            raise translate(
                exc, provider=self.name, model=model, where=where, timeout_s=timeout
            ) from exc


def to_openai_messages(system: str | None, messages: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        m = m if isinstance(m, Message) else Message.from_json(m)
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.content or None}
            if m.tool_calls:
                item["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                    }
                    for c in m.tool_calls
                ]
            out.append(item)
        else:
            out.append({"role": "user", "content": m.content})
    return out


def _read_reply(completion: Any, model: str) -> Reply:
    if not getattr(completion, "choices", None):
        raise LLMMalformedReplyError(f"The openai model {model} sent a reply without a choice.")
    choice = completion.choices[0]
    message = choice.message
    if getattr(message, "refusal", None) or choice.finish_reason == "content_filter":
        raise LLMRefusalError(
            f"The openai model {model} refused to answer: {message.refusal or 'content filter'}."
        )
    calls = tuple(
        ToolCall(
            c.id or f"call_{i}",  # some compatible servers send no id
            c.function.name,
            parse_tool_arguments(c.function.name, c.function.arguments),
        )
        for i, c in enumerate(message.tool_calls or ())
    )
    usage = completion.usage
    return Reply(
        text=message.content or "",
        tool_calls=calls,
        usage=Usage(
            getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
        ),
        stop_reason=_STOP.get(choice.finish_reason or "stop", choice.finish_reason or "end"),
        model=completion.model or model,
    )


def _read_stream(stream: Any, model: str, on_text: TextCallback) -> Reply:
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    usage = Usage()
    served = model
    refusal: list[str] = []
    for chunk in stream:
        served = chunk.model or served
        if chunk.usage is not None:
            usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta.content:
                text.append(delta.content)
                on_text(delta.content)
            if getattr(delta, "refusal", None):
                refusal.append(delta.refusal)
            for part in delta.tool_calls or ():
                slot = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                if part.id:
                    slot["id"] = part.id
                if part.function is not None:
                    slot["name"] += part.function.name or ""
                    slot["arguments"] += part.function.arguments or ""
            finish = choice.finish_reason or finish
    if refusal or finish == "content_filter":
        raise LLMRefusalError(
            f"The openai model {model} refused to answer: {''.join(refusal) or 'content filter'}."
        )
    tool_calls = tuple(
        ToolCall(s["id"] or f"call_{i}", s["name"], parse_tool_arguments(s["name"], s["arguments"]))
        for i, s in sorted(calls.items())
    )
    return Reply(
        text="".join(text),
        tool_calls=tool_calls,
        usage=usage,
        stop_reason=_STOP.get(finish or "stop", finish or "end"),
        model=served,
    )
