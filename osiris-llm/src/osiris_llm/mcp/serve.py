"""Running the server over a transport, with its call-log session opened and closed around it."""

from __future__ import annotations

from osiris_llm import operations as ops


def serve_stdio(ws: ops.Workspace, *, read_only: bool) -> None:
    """Serve one client over stdin/stdout until it closes the connection."""
    import anyio
    from mcp.server.stdio import stdio_server

    from osiris_llm.mcp.calllog import CallLog
    from osiris_llm.mcp.server import build_server

    log = CallLog(ws.logs_dir, transport="stdio", read_only=read_only, project=str(ws.project_dir))
    server = build_server(ws, read_only=read_only, log=log)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(main)
    finally:
        log.close()


def serve_http(ws: ops.Workspace, *, host: str, port: int, read_only: bool) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    from osiris_llm.mcp.calllog import CallLog
    from osiris_llm.mcp.cli import HTTP_PATH
    from osiris_llm.mcp.server import build_server

    log = CallLog(ws.logs_dir, transport="http", read_only=read_only, project=str(ws.project_dir))
    server = build_server(ws, read_only=read_only, log=log)
    app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        log.close()
