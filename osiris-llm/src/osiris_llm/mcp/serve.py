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
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted (Ctrl-C, SIGTERM).

    The socket is bound before the address is announced on stderr, so whoever reads that line
    (a person, a script, a test) can connect at once; port 0 picks a free port.
    """
    import signal
    import socket

    import click
    import uvicorn

    from osiris_llm.mcp.calllog import CallLog
    from osiris_llm.mcp.cli import HTTP_PATH, http_url
    from osiris_llm.mcp.server import build_server

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from osiris.errors import InvalidInputError

        raise InvalidInputError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(128)
    log = CallLog(ws.logs_dir, transport="http", read_only=read_only, project=str(ws.project_dir))
    server = build_server(ws, read_only=read_only, log=log)
    app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    click.echo(f"Osiris MCP server listening at {http_url(host, sock.getsockname()[1])}", err=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: end cleanly
    # with exit 0 instead of dying by it, so the session is closed (mcp_stop, status.json).
    previous = {sig: signal.signal(sig, _exit_cleanly) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.close()
        sock.close()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
