"""Open a chat (new or stored) with its workspace, store, session, prompts and model client."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError, OsirisError

from osiris_llm import operations as ops
from osiris_llm.agent.machine import AgentOptions, ChatAgent, State
from osiris_llm.agent.store import ChatStore
from osiris_llm.prompts import Prompts, load_prompts
from osiris_llm.settings import LLMSettings, choose_provider, load_llm_settings


@dataclass
class ChatSetup:
    """What the CLI (or a test) passes to open a chat."""

    project_dir: Path
    session_id: str | None = None
    cli_settings: Mapping[str, Any] | None = None
    connections_path: Path | None = None
    logs_dir: Path | None = None
    no_samples: bool = False
    pro_mode: bool = False
    prompts_dir: Path | None = None
    out: str | None = None
    tools: bool = True
    need_model: bool = True
    context: Mapping[str, Any] | None = None
    environ: Mapping[str, str] | None = None


def open_chat(setup: ChatSetup) -> ChatAgent:
    from osiris.session import Session

    project = Path(setup.project_dir).resolve()
    settings = load_llm_settings(setup.cli_settings, environ=setup.environ, cwd=project)
    ws = ops.Workspace(
        project,
        connections_path=setup.connections_path,
        logs_dir=setup.logs_dir,
        samples=settings.send_samples and not setup.no_samples,
    )
    if setup.out is not None:  # refused before any model call, not after the proposal
        target = ws.resolve_path(setup.out)
        if target.suffix.lower() not in (".yaml", ".yml"):
            raise InvalidInputError(f"--out {setup.out} must end with .yaml or .yml.")
    secrets = register_connection_secrets(ws)
    client = _client(settings, ws, setup) if setup.need_model else None
    prompts = Prompts()
    if setup.pro_mode:
        if client is not None and client.provider.config.api_key:
            secrets.append(client.provider.config.api_key)
        directory = setup.prompts_dir or project / "prompts"
        prompts = load_prompts(directory, secrets)
    # values of the variables the connections use reach the model as *** (host names included)
    variables = connection_variable_values(ws)
    store = ChatStore(project, mask=_mask)
    assert ws.logs_dir is not None
    if setup.session_id:
        record = store.get(setup.session_id)
        session = Session(ws.logs_dir, kind="chat", session_id=record.id)
        session.started_at = record.created_at  # status.json spans the whole chat
        session.masker.add_secrets(variables)
        if setup.context:
            record.context.update(setup.context)
            store.update(record.id, context=record.context)
        session.event("chat_resume", state=record.state, **_model_fields(client))
    else:
        session = Session(ws.logs_dir, kind="chat")
        session.masker.add_secrets(variables)
        record = store.create(
            session.id,
            State.INIT.value,
            provider=settings.provider,
            model=client.model if client else settings.model,
            context=dict(setup.context or {}),
        )
        session.event("chat_start", **_model_fields(client), samples=ws.samples, tools=setup.tools)
    if client is not None:
        client.sink = _recorder(session, store, record.id)
    options = AgentOptions(
        max_tool_rounds=settings.max_tool_rounds,
        max_regenerations=settings.max_regenerations,
        temperature=float(settings.temperature),
        max_tokens=settings.max_tokens,
        tools=setup.tools and not record.context.get("text_only"),
        out=setup.out,
    )
    if setup.pro_mode:
        session.event("chat_prompts", source=prompts.source)
    return ChatAgent(
        ws=ws,
        store=store,
        session=session,
        record=record,
        client=client,
        prompts=prompts,
        options=options,
    )


def _client(settings: LLMSettings, ws: ops.Workspace, setup: ChatSetup) -> Any:
    from osiris_llm.client import LLMClient

    choice = choose_provider(settings, ws.registry(), setup.environ, ws.project_dir)
    return LLMClient(choice.build(), fallback_model=settings.fallback_model)


def _recorder(session: Any, store: ChatStore, chat_id: str) -> Any:
    """The client's event sink: every event into the session, each answer's usage into the store."""

    def sink(name: str, **fields: Any) -> None:
        record = session.event(name, **fields)
        if name == "llm_response":
            store.add_llm_call(chat_id, record)

    return sink


def _model_fields(client: Any) -> dict[str, Any]:
    if client is None:
        return {}
    config = client.provider.config
    return {"provider": client.provider.name, "model": config.model, "base_url": config.base_url}


def _mask(text: str) -> str:
    from osiris.masking import process_masker

    return process_masker.mask(text)


def register_connection_secrets(ws: ops.Workspace) -> list[str]:
    """Resolve every connection once so each secret value is known to the process masker
    before anything is sent to a model. A connection that does not resolve is skipped (its
    listing reports why); its values were never read, so none can leak."""
    try:
        connections = ws.connections()
        registry = ws.registry()
    except OsirisError:
        return []
    secrets: list[str] = []
    for family in connections.families():
        for alias in connections.aliases(family):
            try:
                secrets += connections.resolve(f"@{family}.{alias}", registry).secret_values
            except OsirisError:
                continue
    return secrets


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def connection_variable_values(ws: ops.Workspace) -> list[str]:
    """The values of every ``${VAR}`` the connections file uses (environment, then .env files
    next to it and in the project), so that no environment value is ever sent to a model."""
    from osiris.connections.variables import read_dotenv

    try:
        path = ws.connections().path
    except OsirisError:
        return []
    if path is None:
        return []
    names = set(_VARIABLE.findall(Path(path).read_text(encoding="utf-8")))
    found = {**read_dotenv(ws.project_dir / ".env"), **read_dotenv(Path(path).parent / ".env")}
    found.update(os.environ)
    return [found[name] for name in sorted(names) if found.get(name)]
