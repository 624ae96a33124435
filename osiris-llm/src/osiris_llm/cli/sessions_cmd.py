"""``osiris chat sessions list|show|rm``: the chats stored in ``.osiris/chat.sqlite``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.group("sessions")
def sessions() -> None:
    """Chat sessions stored in .osiris/chat.sqlite."""


def _store() -> Any:
    from osiris.masking import process_masker

    from osiris_llm.agent.store import ChatStore

    return ChatStore(Path.cwd(), mask=process_masker.mask)


@sessions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def sessions_list(as_json: bool) -> None:
    """Every chat of this project, newest first."""
    store = _store()
    try:
        records = store.list()
    finally:
        store.close()
    items = [
        {
            "session_id": r.id,
            "state": r.state,
            "title": r.title,
            "provider": r.provider,
            "model": r.model,
            "pipeline": r.pipeline_path,
            "updated_at": r.updated_at,
        }
        for r in records
    ]
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if not items:
        click.echo("No chat sessions yet: start one with osiris chat.")
        return
    from osiris.cli.components_cmd import table

    rows = [
        (i["session_id"], i["state"], i["pipeline"] or "", (i["title"] or "")[:50]) for i in items
    ]
    click.echo(table(("SESSION", "STATE", "PIPELINE", "FIRST MESSAGE"), rows))


@sessions.command("show")
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def sessions_show(session_id: str, as_json: bool) -> None:
    """One chat: state, messages, tool calls, proposals and the run."""
    store = _store()
    try:
        record = store.get(session_id)
        data = {
            "session_id": record.id,
            "state": record.state,
            "provider": record.provider,
            "model": record.model,
            "pipeline": record.pipeline_path,
            "approved_at": record.approved_at,
            "run": (
                {
                    "session": record.run_session,
                    "ok": record.run_ok,
                    "rows_written": record.rows_written,
                }
                if record.run_session
                else None
            ),
            "usage": store.usage(record.id),
            "states": [{"from": a, "to": b} for a, b in store.states(record.id)],
            "messages": [m.to_json() for m in store.messages(record.id)],
            "tool_calls": store.tool_calls(record.id),
            "proposals": store.proposals(record.id),
        }
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    usage = data["usage"]
    click.echo(
        f"Chat {data['session_id']} · {data['state']} · {data['provider']} {data['model']} ·"
        f" {usage['calls']} model calls, {usage['tokens_in']:,} tokens in,"
        f" {usage['tokens_out']:,} out"
    )
    if data["pipeline"]:
        click.echo(f"Pipeline: {data['pipeline']}")
    for message in data["messages"]:
        if message["role"] == "tool":
            continue
        calls = ", ".join(c["name"] for c in message["tool_calls"])
        text = message["content"].strip().replace("\n", " ")
        click.echo(
            f"  {message['role']:>9}: {text[:160]}" + (f" [tools: {calls}]" if calls else "")
        )
    for proposal in data["proposals"]:
        verdict = "valid" if proposal["valid"] else f"invalid ({len(proposal['errors'])} errors)"
        click.echo(f"  proposal {proposal['seq']}: {verdict} -> {proposal['path']}")
    if data["run"]:
        run = data["run"]
        click.echo(
            f"Run {run['session']}: {'ok' if run['ok'] else 'failed'}, {run['rows_written']} rows written"
        )


@sessions.command("rm")
@click.argument("session_id")
def sessions_rm(session_id: str) -> None:
    """Forget a chat (its logs/ session stays, like every other session)."""
    store = _store()
    try:
        store.remove(session_id)
    finally:
        store.close()
    click.echo(f"Removed chat {session_id}.")
