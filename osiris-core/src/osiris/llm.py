"""Base class of LLM providers registered through ``register_llm_providers``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class LLMProvider(ABC):
    """One LLM backend. Providers import their SDK inside methods, never at module level."""

    name: ClassVar[str]

    @abstractmethod
    def complete(self, messages: Sequence[Mapping[str, Any]], *, system: str | None = None) -> str:
        """Return the assistant's reply to ``messages`` (``[{"role", "content"}]``)."""
