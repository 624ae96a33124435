"""One model call as the agent makes it: events, bounded retries on 429/5xx, then the fallback.

Providers raise typed errors and never retry themselves (their SDKs run with
``max_retries=0``), so every attempt is visible as an event and the wait is bounded here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from osiris.llm import ChatRequest, LLMError, LLMProvider, Reply, TextCallback

EventSink = Callable[..., Any]
"""``sink(name, **fields)``: a ``Session.event`` or anything with that signature."""

RETRIES = 3
"""Attempts after the first one, per model, for rate limits and server errors."""
BACKOFF_S = (1.0, 2.0, 4.0)
MAX_WAIT_S = 10.0
"""A server's retry-after is honoured up to this many seconds."""


class LLMClient:
    """Calls one provider with its main model, then ``fallback_model`` if the main one fails."""

    def __init__(
        self,
        provider: LLMProvider,
        *,
        fallback_model: str | None = None,
        sink: EventSink | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.fallback_model = fallback_model
        self.sink = sink or (lambda *_a, **_k: None)
        self.sleep = sleep

    @property
    def model(self) -> str:
        return self.provider.config.model

    def chat(self, request: ChatRequest, *, on_text: TextCallback | None = None) -> Reply:
        models = [request.model or self.model]
        if self.fallback_model and self.fallback_model not in models:
            models.append(self.fallback_model)
        last: LLMError | None = None
        for number, model in enumerate(models):
            if number:
                self.sink("llm_fallback", from_model=models[0], to_model=model, error=str(last))
            try:
                return self._with_retries(replace(request, model=model), on_text)
            except LLMError as exc:
                if not exc.retryable:
                    raise
                last = exc
        assert last is not None
        raise type(last)(
            f"{last.message.rstrip('.')} (gave up after {RETRIES + 1} attempts"
            + (f" on {' and '.join(models)}" if len(models) > 1 else "")
            + ").",
            hint="Try again later, or set llm.fallback_model.",
        )

    def _with_retries(self, request: ChatRequest, on_text: TextCallback | None) -> Reply:
        for attempt in range(RETRIES + 1):
            self.sink(
                "llm_request",
                provider=self.provider.name,
                model=request.model,
                attempt=attempt + 1,
                messages=len(request.messages),
                tools=len(request.tools),
                stream=on_text is not None,
            )
            started = time.perf_counter()
            try:
                reply = self.provider.chat(request, on_text=on_text)
            except LLMError as exc:
                latency = int((time.perf_counter() - started) * 1000)
                self.sink(
                    "llm_error",
                    model=request.model,
                    attempt=attempt + 1,
                    error_type=type(exc).__name__,
                    error=str(exc),
                    retryable=exc.retryable,
                    latency_ms=latency,
                )
                if not exc.retryable or attempt == RETRIES:
                    raise
                self.sleep(_wait(exc, attempt))
                continue
            self.sink(
                "llm_response",
                provider=self.provider.name,
                model=reply.model or request.model,
                tokens_in=reply.usage.input_tokens,
                tokens_out=reply.usage.output_tokens,
                latency_ms=int((time.perf_counter() - started) * 1000),
                stop_reason=reply.stop_reason,
                tool_calls=[c.name for c in reply.tool_calls],
            )
            return reply
        raise AssertionError("unreachable")


def _wait(exc: LLMError, attempt: int) -> float:
    """The server's retry-after when it sent one (bounded), else exponential backoff."""
    response = getattr(exc.__cause__, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        if header is not None:
            return min(max(float(header), 0.0), MAX_WAIT_S)
    except ValueError:
        pass
    return BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
