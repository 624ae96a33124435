"""Click commands of osiris-llm: chat, llm, dump-prompts (import-cheap: click only)."""
