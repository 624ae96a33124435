"""The chat agent: state machine, tools, persistence."""
