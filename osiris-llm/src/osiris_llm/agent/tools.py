"""The tools offered to the model: names, argument schemas, and thin calls into ``operations``.

``propose_pipeline`` and ``ask_user`` are handled by the agent itself (they change its state);
the others return JSON-ready, masked results. Every result reaches the model as quoted JSON
text: data the model reads (names, comments, sample values) is never an instruction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from osiris.errors import InvalidInputError
from osiris.llm import ToolSpec

from osiris_llm import operations as ops

_CONNECTION = {
    "type": "string",
    "description": "Connection reference from list_connections, e.g. '@mysql.db_movies'.",
}
TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_connections",
        "The project's connections: reference, family, non-secret fields, names of secret fields.",
        {"type": "object", "properties": {}, "additionalProperties": False},
    ),
    ToolSpec(
        "list_components",
        "Installed components: name, modes, title, description, providing package.",
        {"type": "object", "properties": {}, "additionalProperties": False},
    ),
    ToolSpec(
        "get_component",
        "One component's spec: configSchema, examples, llmHints, connection fields.",
        {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "e.g. mysql.extractor"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "discover",
        "Tables of a connection with columns, types, keys and row counts (cached).",
        {
            "type": "object",
            "properties": {
                "connection": _CONNECTION,
                "tables": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Only these tables (default: all).",
                },
                "refresh": {"type": "boolean", "description": "Ignore the cache."},
            },
            "required": ["connection"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "sample",
        "Up to 20 rows of one table, secrets masked. Refused when samples are turned off.",
        {
            "type": "object",
            "properties": {
                "connection": _CONNECTION,
                "table": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            },
            "required": ["connection", "table"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "validate_oml",
        "Validate OML text as `osiris oml validate` does: errors with path, message, fix.",
        {
            "type": "object",
            "properties": {"oml": {"type": "string", "description": "The pipeline YAML."}},
            "required": ["oml"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "propose_pipeline",
        "Propose the finished pipeline to the person; it is validated, compiled and shown for"
        " approval. Invalid OML comes back with its errors.",
        {
            "type": "object",
            "properties": {
                "oml": {"type": "string", "description": "The complete pipeline YAML."},
                "summary": {
                    "type": "string",
                    "description": "What the pipeline does, in one paragraph.",
                },
            },
            "required": ["oml", "summary"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "ask_user",
        "Ask the person one clarifying question; your turn ends until they answer.",
        {
            "type": "object",
            "properties": {"question": {"type": "string"}},
            "required": ["question"],
            "additionalProperties": False,
        },
    ),
)
TOOL_NAMES = tuple(t.name for t in TOOLS)
DISCOVERY_TOOLS = frozenset(
    {"list_connections", "list_components", "get_component", "discover", "sample"}
)


def _text_arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"The argument '{name}' must be a non-empty string.")
    return value


def _discover(ws: ops.Workspace, args: dict[str, Any]) -> Any:
    return ops.discover(
        ws,
        _text_arg(args, "connection"),
        tables=args.get("tables"),
        refresh=bool(args.get("refresh", False)),
    )


def _sample(ws: ops.Workspace, args: dict[str, Any]) -> Any:
    limit = args.get("limit", 5)
    return ops.sample(ws, _text_arg(args, "connection"), _text_arg(args, "table"), limit=limit)


HANDLERS: dict[str, Callable[[ops.Workspace, dict[str, Any]], Any]] = {
    "list_connections": lambda ws, _a: {"connections": ops.list_connections(ws)},
    "list_components": lambda ws, _a: {"components": ops.list_components(ws)},
    "get_component": lambda ws, a: ops.get_component(ws, _text_arg(a, "name")),
    "discover": _discover,
    "sample": _sample,
    "validate_oml": lambda ws, a: ops.validate_oml(ws, _text_arg(a, "oml")),
}
