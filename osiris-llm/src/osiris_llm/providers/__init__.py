"""The providers osiris-llm ships: ``openai`` (and OpenAI-compatible servers) and ``anthropic``."""
