"""SDK exceptions to the typed errors of ``osiris.llm``, one sentence each.

Both SDKs share the shape (``APIStatusError.status_code``, ``APITimeoutError``,
``APIConnectionError``), so one function serves both without importing either.
"""

from __future__ import annotations

from osiris.llm import (
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
)


def translate(
    exc: Exception, *, provider: str, model: str, where: str, timeout_s: float
) -> LLMError:
    """The ``LLMError`` for an SDK exception raised while calling ``model`` at ``where``."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    detail = _detail(exc)
    if "APITimeoutError" in names or status == 408:
        return LLMTimeoutError(
            f"The {provider} model {model} did not answer within {timeout_s:g} s ({where}).",
            hint="Raise llm.timeout_s (OSIRIS_LLM_TIMEOUT_S) or try again.",
        )
    if "APIConnectionError" in names:
        return LLMConnectionError(
            f"Cannot reach the {provider} service at {where}: {detail}.",
            hint="Check llm.base_url and that the server is running.",
        )
    if status in (401, 403):
        return LLMAuthError(
            f"The {provider} service at {where} refused the API key (HTTP {status}: {detail}).",
            hint="Check the key in the variable named by llm.api_key_env.",
        )
    if status == 404:
        return LLMModelNotFoundError(
            f"The {provider} service at {where} does not know the model '{model}' "
            f"(HTTP 404: {detail}).",
            hint="Set llm.model (or --model) to a model the server offers.",
        )
    if status == 429:
        return LLMRateLimitError(f"The {provider} service rate-limited the request ({detail}).")
    if isinstance(status, int) and status >= 500:
        return LLMServerError(f"The {provider} service failed (HTTP {status}: {detail}).")
    if isinstance(status, int):
        return LLMError(f"The {provider} service rejected the request (HTTP {status}: {detail}).")
    return LLMError(f"The {provider} call failed: {type(exc).__name__}: {detail}.")


def _detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]).rstrip(".")
    cause = exc.__cause__
    text = str(cause or exc) or type(exc).__name__
    return text.rstrip(".")
