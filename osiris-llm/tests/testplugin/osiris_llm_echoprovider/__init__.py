"""A third-party LLM provider: answers every request locally (tests only)."""
