"""Sections for sessions that are not runs: a chat's conversation, a discovery's findings."""

from __future__ import annotations

from html import escape

from osiris.report.fmt import compact_json, fields_text, oml_of, pre
from osiris.report.model import SessionView

CONVERSATION_PREFIXES = ("chat_", "llm_", "tool_", "mcp_")
TEXT_FIELDS = ("content", "text", "message", "reply", "prompt", "question")


def conversation(view: SessionView) -> str:
    """A chat's messages, model calls, tool calls and proposed pipelines, in order."""
    records = [r for r in view.events if r.name.startswith(CONVERSATION_PREFIXES) or oml_of(r)]
    if not records:
        return ""
    items = []
    for r in records:
        role = str(r.data.get("role") or "")
        body = next((r.data[k] for k in TEXT_FIELDS if isinstance(r.data.get(k), str)), None)
        oml = oml_of(r)
        if r.name == "chat_state":
            cls, who = "meta", "state"
            body = f"{r.data.get('from', '?')} → {r.data.get('to', '?')}"
        elif role in ("user", "assistant", "system"):
            cls, who = ("user" if role == "user" else "assistant"), role
        elif r.name.startswith("tool_") or "tool" in r.data:
            cls, who = "tool", f"tool · {r.data.get('tool') or r.data.get('name') or r.name}"
        elif r.name.startswith("llm_"):
            cls, who = "meta", r.name
        else:
            cls, who = "assistant", r.name
        skip = {"ts", "session", "event", "role", "from", "to", "oml", *TEXT_FIELDS}
        extra = {k: v for k, v in r.data.items() if k not in skip}
        items.append(
            f'<div class="msg-b {cls}"><div class="who">{escape(who)} ·'
            f" <span class='mono'>ev:{r.n}</span></div>"
            + (f'<div class="body">{escape(body)}</div>' if body else "")
            + (f'<div class="mono muted">{escape(compact_json(extra))}</div>' if extra else "")
            + (pre("Proposed pipeline", oml, open_=True) if oml else "")
            + "</div>"
        )
    return (
        '<section id="conversation"><h2>Conversation</h2>'
        f'<div class="conv">{"".join(items)}</div></section>'
    )


def discovery(view: SessionView) -> str:
    records = [r for r in view.events if "discover" in r.name]
    if not records:
        return ""
    rows = "".join(
        f"<tr><td class='mono'>ev:{r.n}</td><td class='mono'>{escape(r.name)}</td>"
        f"<td class='f mono'>{escape(fields_text(r))}</td></tr>"
        for r in records
    )
    return f'<section id="discovery"><h2>Discovery</h2><table>{rows}</table></section>'
