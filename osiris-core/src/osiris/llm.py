"""The LLM provider contract: a chat request in, a reply out, text optionally streamed.

Providers are registered through ``register_llm_providers`` (osiris-llm ships ``openai`` and
``anthropic``). They import their SDK inside methods, never at module level, and translate SDK
failures into the typed errors below so the agent can decide: retry (rate limit, server), try
the fallback model, or stop with one sentence (auth, unknown model, timeout, refusal, malformed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from osiris.errors import InvalidInputError, OsirisError

Role = Literal["user", "assistant", "tool"]
TextCallback = Callable[[str], None]
"""Receives each streamed text delta as it arrives (the terminal prints it)."""


@dataclass(frozen=True)
class ToolCall:
    """One call the model asks for; ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One turn of the conversation in a provider-neutral shape.

    ``assistant`` messages may carry ``tool_calls``; a ``tool`` message answers one call by
    ``tool_call_id`` with ``content`` (a JSON text) and ``is_error`` when the tool refused.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "content": self.content,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "tool_call_id": self.tool_call_id,
            "is_error": self.is_error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            role=data["role"],
            content=data.get("content") or "",
            tool_calls=tuple(
                ToolCall(c["id"], c["name"], dict(c.get("arguments") or {}))
                for c in data.get("tool_calls") or ()
            ),
            tool_call_id=data.get("tool_call_id"),
            is_error=bool(data.get("is_error")),
        )


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: its name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ChatRequest:
    """Everything one model call needs; ``model`` None means the provider's configured model."""

    messages: Sequence[Message]
    system: str | None = None
    tools: Sequence[ToolSpec] = ()
    temperature: float = 0.0
    max_tokens: int | None = None
    timeout_s: float | None = None
    model: str | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """What the model answered. ``stop_reason`` is normalised: ``end``, ``tool_calls``,
    ``max_tokens``, ``refusal`` or the provider's own word when it has no equivalent."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "end"
    model: str = ""


@dataclass(frozen=True)
class ProviderConfig:
    """Resolved settings a provider is built with (the key is a value, never logged)."""

    model: str
    api_key: str | None = None
    base_url: str | None = None
    timeout_s: float = 60.0


class LLMError(OsirisError):
    """A model call failed; ``retryable`` says whether trying again may help."""

    retryable: ClassVar[bool] = False


class LLMRateLimitError(LLMError):
    retryable = True


class LLMServerError(LLMError):
    """5xx or a dropped connection: the service may recover."""

    retryable = True


class LLMConnectionError(LLMError):
    """The service cannot be reached at all (nothing listens at the address)."""


class LLMAuthError(LLMError):
    """The key is missing, wrong or not allowed (401/403)."""

    exit_code = 2


class LLMModelNotFoundError(LLMError):
    exit_code = 2


class LLMTimeoutError(LLMError):
    pass


class LLMRefusalError(LLMError):
    """The model declined to answer."""


class LLMMalformedReplyError(LLMError):
    """The reply cannot be read: tool arguments that are not a JSON object, an empty body."""


class LLMProvider(ABC):
    """One LLM backend (a class; the agent instantiates it with a ``ProviderConfig``).

    ``default_model`` is used when the settings name none; ``api_key_env`` is the variable its
    SDK users know; ``needs_key`` False for servers that accept anything (local models).
    """

    name: ClassVar[str]
    default_model: ClassVar[str] = ""
    api_key_env: ClassVar[str | None] = None
    base_url_env: ClassVar[str | None] = None
    description: ClassVar[str] = ""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @abstractmethod
    def chat(self, request: ChatRequest, *, on_text: TextCallback | None = None) -> Reply:
        """Send ``request``; stream text deltas to ``on_text`` when given.

        Raises the ``LLMError`` subclass that matches the failure.
        """

    def complete(self, messages: Sequence[Mapping[str, Any]], *, system: str | None = None) -> str:
        """Plain text answer to ``[{"role", "content"}]`` messages (no tools)."""
        request = ChatRequest(
            messages=[Message(role=m["role"], content=str(m["content"])) for m in messages],
            system=system,
        )
        return self.chat(request).text


def parse_tool_arguments(name: str, raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; anything but a JSON object is a malformed reply."""
    import json

    if isinstance(raw, Mapping):
        return dict(raw)
    text = (raw or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise LLMMalformedReplyError(
            f"The model called tool '{name}' with arguments that are not JSON ({text[:80]!r})."
        ) from None
    if not isinstance(value, dict):
        raise LLMMalformedReplyError(
            f"The model called tool '{name}' with arguments that are not a JSON object."
        )
    return value


def missing_key_error(provider: str, variable: str) -> InvalidInputError:
    """The one sentence for a provider without a key (exit 2)."""
    return InvalidInputError(
        f"No API key for the {provider} provider: the environment variable {variable} is not set.",
        hint=f"Set {variable}, or name another variable with llm.api_key_env in osiris.yaml.",
    )
