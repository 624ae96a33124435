"""The MCP server: the tool table, resources and the authoring prompt over the SDK's low-level
``Server`` (mcp 2.x), served over stdio or streamable HTTP.

Operations are synchronous core code, so each call runs in a worker thread; the event loop keeps
serving (and ``run`` sends progress notifications) meanwhile. A failed or crashing call is one
masked sentence in an error result: the server itself never goes down with it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import anyio.lowlevel
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from osiris import __version__ as osiris_version
from osiris.errors import OsirisError

from osiris_llm import operations as ops
from osiris_llm.mcp import resources as res
from osiris_llm.mcp.arguments import check_arguments
from osiris_llm.mcp.calllog import CallLog
from osiris_llm.mcp.tools import WRITING_TOOLS, ToolSpec, tools_for
from osiris_llm.operations.workspace import masked

SERVER_NAME = "osiris"
PROMPT_NAME = "author_pipeline"
INSTRUCTIONS = (
    "Osiris moves data with pipelines written in OML (YAML). To build one: connections_list,"
    " discover the source tables, components_list and component_get for each component you use,"
    " write the OML, oml_validate it and apply the fixes, oml_save it, compile, run, then"
    " run_show. Secrets live in osiris_connections.yaml and are never shown; steps name"
    " connections as '@family.alias'. The author_pipeline prompt has the full guidance."
)

MCP_TOOL_NAMES = (
    "\n\nHere the tools are named: connections_list, discover (samples: N for example rows),"
    " components_list, component_get, oml_schema, oml_validate, oml_save, compile, run and"
    " run_show (aiop_get, when listed, explains a run). Validate before saving; run only when the"
    " person asked for it."
)
"""Appended to the shared guidance, which names the chat agent's tools."""


def build_server(ws: ops.Workspace, *, read_only: bool, log: CallLog) -> Server:
    """A low-level SDK server whose handlers call the shared operations."""
    tools = {spec.name: spec for spec in tools_for(read_only=read_only)}

    async def list_tools(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_tool(spec) for spec in tools.values()])

    async def call_tool(
        ctx: ServerRequestContext, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = tools.get(params.name)
        if spec is None:
            hint = (
                " (this server is read-only)" if read_only and params.name in WRITING_TOOLS else ""
            )
            log.call(
                "tool", params.name, params.arguments, duration_ms=0, ok=False, error="unknown tool"
            )
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown tool '{params.name}'{hint}; tools/list shows the tools this server offers.",
            )
        token = anyio.lowlevel.current_token()

        def progress(done: float, total: float | None, message: str | None) -> None:
            try:
                anyio.from_thread.run(
                    ctx.session.report_progress, done, total, message, token=token
                )
            except Exception:  # a client that went away must not break the run
                return

        def work() -> Any:
            arguments = check_arguments(spec.name, spec.input_schema, params.arguments)
            return spec.call(ws, arguments, progress)

        outcome = await _guarded(log, "tool", spec.name, params.arguments, work)
        if isinstance(outcome, _Failure):
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=outcome.message)], is_error=True
            )
        payload = {spec.result_key: outcome} if spec.result_key else outcome
        payload = masked(payload)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))],
            structured_content=payload,
        )

    async def list_resources(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        outcome = await _guarded(log, "resource", "list", None, lambda: res.list_resources(ws))
        if isinstance(outcome, _Failure):
            raise MCPError(INVALID_PARAMS, outcome.message)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=e.uri,
                    name=e.name,
                    title=e.title,
                    description=e.description,
                    mime_type=e.mime_type,
                )
                for e in outcome
            ]
        )

    async def list_templates(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=res.COMPONENT_PREFIX + "{name}",
                    name="component",
                    title="Component spec",
                    description="The spec of an installed component.",
                    mime_type="application/json",
                ),
                types.ResourceTemplate(
                    uri_template=res.RUN_PREFIX + "{session}",
                    name="run",
                    title="Run session",
                    description="Status, per-step rows and first error of a run.",
                    mime_type="application/json",
                ),
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        outcome = await _guarded(log, "resource", uri, None, lambda: res.read_resource(ws, uri))
        if isinstance(outcome, _Failure):
            raise MCPError(INVALID_PARAMS, outcome.message, data={"uri": uri})
        text, mime_type = outcome
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime_type, text=masked(text))]
        )

    async def list_prompts(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=PROMPT_NAME,
                    title="Author an Osiris pipeline",
                    description="How to turn a data movement into valid OML with the installed"
                    " components (the guidance the Osiris chat agent follows).",
                    arguments=[
                        types.PromptArgument(
                            name="goal",
                            description="The data movement to build, in your words.",
                            required=False,
                        )
                    ],
                )
            ]
        )

    async def get_prompt(
        ctx: ServerRequestContext, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != PROMPT_NAME:
            log.call(
                "prompt",
                params.name,
                params.arguments,
                duration_ms=0,
                ok=False,
                error="unknown prompt",
            )
            raise MCPError(
                INVALID_PARAMS, f"Unknown prompt '{params.name}'; the prompt is {PROMPT_NAME}."
            )
        goal = (params.arguments or {}).get("goal")
        outcome = await _guarded(
            log, "prompt", PROMPT_NAME, params.arguments, lambda: _guidance(ws, goal)
        )
        if isinstance(outcome, _Failure):
            raise MCPError(INVALID_PARAMS, outcome.message)
        return types.GetPromptResult(
            description="Authoring guidance for Osiris pipelines",
            messages=[
                types.PromptMessage(
                    role="user", content=types.TextContent(type="text", text=masked(outcome))
                )
            ],
        )

    return Server(
        SERVER_NAME,
        version=osiris_version,
        title="Osiris",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


class _Failure:
    """A call that failed: ``message`` is the masked sentence the client gets."""

    def __init__(self, message: str) -> None:
        self.message = message


async def _guarded(log: CallLog, kind: str, name: str, arguments: Any, work: Any) -> Any:
    """Run ``work`` in a thread; log it; turn any exception into a masked one-sentence failure."""
    started = time.perf_counter()
    try:
        value = await anyio.to_thread.run_sync(work)
    except OsirisError as exc:
        message = masked(str(exc))
        log.call(kind, name, arguments, duration_ms=_ms(started), ok=False, error=message)
        return _Failure(message)
    except Exception as exc:  # a bug must not take the server down: say so, keep serving
        message = masked(
            f"Unexpected {type(exc).__name__} in {name}: {exc}. The server kept running; details"
            " are in its session log."
        )
        log.call(kind, name, arguments, duration_ms=_ms(started), ok=False, error=message, exc=exc)
        return _Failure(message)
    ok = not (isinstance(value, dict) and value.get("ok") is False)
    log.call(
        kind,
        name,
        arguments,
        duration_ms=_ms(started),
        ok=ok,
        error=None if ok else _first_error(value),
    )
    return value


def _first_error(value: dict[str, Any]) -> str | None:
    if value.get("error"):
        return masked(str(value["error"]))
    errors = value.get("errors") or []
    return masked(errors[0].get("message")) if errors else None


def _guidance(ws: ops.Workspace, goal: Any) -> str:
    from osiris_llm.prompts import authoring_guidance

    text = authoring_guidance(ws.registry()) + MCP_TOOL_NAMES
    if isinstance(goal, str) and goal.strip():
        text += f"\n\n## The pipeline to build\n\n{goal.strip()}\n"
    return text


def _tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
