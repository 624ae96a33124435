"""Osiris plugin: LLM providers and the osiris chat agent."""

__version__ = "0.1.0"
