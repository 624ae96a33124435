"""What the model is told before the conversation: the system prompt for a chat's mode.

Built from the installed registry (``prompts.authoring_guidance``), the project's connections
(secret-free listing) and, for a model that cannot call tools, the discovered tables inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from osiris.errors import OsirisError

from osiris_llm import operations as ops
from osiris_llm.prompts import Prompts, authoring_guidance, connections_brief, fill


def system_prompt(
    ws: ops.Workspace, prompts: Prompts, chat_context: Mapping[str, Any], *, text_only: bool
) -> str:
    """The conversation prompt, or the --sql one when the chat was opened around a query."""
    values = {
        "authoring_guidance": authoring_guidance(ws.registry()),
        "connections": connections_brief(ops.list_connections(ws)),
        "samples_policy": "samples are on" if ws.samples else "samples are off: never call sample",
        "sql": chat_context.get("sql", ""),
        "connection": chat_context.get("connection", ""),
    }
    sql = bool(chat_context.get("sql"))
    template = prompts.sql_generation_system if sql else prompts.conversation_system
    text = fill(template, values)
    return text + "\n\n" + inline_discovery(ws) if text_only else text


def inline_discovery(ws: ops.Workspace) -> str:
    """For text-only models: the tables of every reachable connection, since they cannot ask."""
    lines = ["Tables of the connections (you cannot call tools; answer with a ```yaml block):"]
    for connection in ops.list_connections(ws):
        try:
            found = ops.discover(ws, connection["reference"])
        except OsirisError as exc:
            lines.append(f"- {connection['reference']}: not discoverable ({exc.message})")
            continue
        for table in found.get("tables") or []:
            columns = ", ".join(
                f"{c.get('name')} {c.get('type', '')}".strip() for c in table.get("columns") or []
            )
            lines.append(f"- {connection['reference']} {table.get('name')}: {columns}")
    return "\n".join(lines)
