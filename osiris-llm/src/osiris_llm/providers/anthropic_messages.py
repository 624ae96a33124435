"""``anthropic``: Anthropic's messages API (or a server that speaks it, through ``base_url``)."""

from __future__ import annotations

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

DEFAULT_MAX_TOKENS = 4096
"""The messages API requires max_tokens; used when the settings leave it unset."""
_STOP = {
    "end_turn": "end",
    "tool_use": "tool_calls",
    "max_tokens": "max_tokens",
    "stop_sequence": "end",
}


class AnthropicProvider(LLMProvider):
    name = "anthropic"
    default_model = "claude-sonnet-4-5"
    api_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    description = "Anthropic messages API."

    def chat(self, request: ChatRequest, *, on_text: TextCallback | None = None) -> Reply:
        import anthropic

        model = request.model or self.config.model
        timeout = request.timeout_s or self.config.timeout_s
        client = anthropic.Anthropic(
            api_key=self.config.api_key or "not-needed",
            base_url=self.config.base_url,
            timeout=timeout,
            max_retries=0,  # retries and the fallback model are the agent's, bounded and logged
        )
        params: dict[str, Any] = {
            "model": model,
            "messages": to_anthropic_messages(request.messages),
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }  # the 2.x messages API has no temperature: llm.temperature applies to openai only
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
        where = str(client.base_url).rstrip("/")
        try:
            if on_text is None:
                return _read_message(client.messages.create(**params), model)
            return _read_stream(client.messages.create(**params, stream=True), model, on_text)
        except anthropic.AnthropicError as exc:
            raise translate(
                exc, provider=self.name, model=model, where=where, timeout_s=timeout
            ) from exc


def to_anthropic_messages(messages: Any) -> list[dict[str, Any]]:
    """Neutral messages to alternating user/assistant turns; tool results become user blocks."""
    out: list[dict[str, Any]] = []
    for m in messages:
        m = m if isinstance(m, Message) else Message.from_json(m)
        if m.role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id,
                    "content": m.content,
                    **({"is_error": True} if m.is_error else {}),
                }
            ]
        elif m.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in m.tool_calls
            ]
        else:
            role, blocks = "user", [{"type": "text", "text": m.content}]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _refused(model: str, stop: str | None) -> None:
    if stop == "refusal":
        raise LLMRefusalError(f"The anthropic model {model} refused to answer.")


def _read_message(message: Any, model: str) -> Reply:
    content = getattr(message, "content", None)
    if content is None:
        raise LLMMalformedReplyError(f"The anthropic model {model} sent a reply without content.")
    _refused(model, message.stop_reason)
    text = "".join(b.text for b in content if b.type == "text")
    calls = tuple(
        ToolCall(b.id, b.name, parse_tool_arguments(b.name, b.input))
        for b in content
        if b.type == "tool_use"
    )
    usage = message.usage
    return Reply(
        text=text,
        tool_calls=calls,
        usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0),
        stop_reason=_STOP.get(message.stop_reason or "end_turn", message.stop_reason or "end"),
        model=message.model or model,
    )


def _read_stream(stream: Any, model: str, on_text: TextCallback) -> Reply:
    text: list[str] = []
    blocks: dict[int, dict[str, Any]] = {}
    stop = None
    input_tokens = output_tokens = 0
    served = model
    for event in stream:
        kind = event.type
        if kind == "message_start":
            served = event.message.model or served
            input_tokens = event.message.usage.input_tokens or 0
        elif kind == "content_block_start" and event.content_block.type == "tool_use":
            block = event.content_block
            blocks[event.index] = {"id": block.id, "name": block.name, "json": ""}
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                text.append(delta.text)
                on_text(delta.text)
            elif delta.type == "input_json_delta" and event.index in blocks:
                blocks[event.index]["json"] += delta.partial_json
        elif kind == "message_delta":
            stop = event.delta.stop_reason or stop
            output_tokens = event.usage.output_tokens or output_tokens
    _refused(model, stop)
    calls = tuple(
        ToolCall(b["id"], b["name"], parse_tool_arguments(b["name"], b["json"] or "{}"))
        for _, b in sorted(blocks.items())
    )
    return Reply(
        text="".join(text),
        tool_calls=calls,
        usage=Usage(input_tokens, output_tokens),
        stop_reason=_STOP.get(stop or "end_turn", stop or "end"),
        model=served,
    )
