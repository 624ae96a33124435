"""``osiris mcp serve`` and ``osiris mcp config``. Import-cheap: the SDK loads in ``serve``."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_HTTP_HOST = "127.0.0.1"
HTTP_PATH = "/mcp"
CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode")


@click.group()
def mcp() -> None:
    """Serve Osiris to AI clients over the Model Context Protocol."""


@mcp.command("serve")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project directory; every path a client gives must stay inside it.",
)
@click.option("--read-only", is_flag=True, help="Leave out oml_save, compile and run.")
@click.option(
    "--http",
    "http",
    metavar="[HOST:]PORT",
    help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (HOST defaults to"
    " 127.0.0.1; port 0 picks a free one, announced on stderr).",
)
@click.option(
    "--no-samples",
    is_flag=True,
    help="Never return sample rows of data (also off when osiris.yaml sets llm.send_samples: false).",
)
@click.option(
    "--connections",
    "connections_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Connections file (default: $OSIRIS_HOME, then the project's osiris_connections.yaml).",
)
@click.option(
    "--logs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where sessions go (default: $OSIRIS_LOGS_DIR or PROJECT/logs).",
)
def serve(
    project: Path,
    read_only: bool,
    http: str | None,
    no_samples: bool,
    connections_path: Path | None,
    logs_dir: Path | None,
) -> None:
    """Serve MCP over stdio (what desktop clients start) or streamable HTTP.

    Every call is logged in a session under the logs directory, with arguments masked.
    """
    from osiris.errors import InvalidInputError

    from osiris_llm import operations as ops
    from osiris_llm.mcp.serve import serve_http, serve_stdio

    project = project.expanduser().resolve()
    if not project.is_dir():
        raise InvalidInputError(f"--project {project} is not a directory.")
    if connections_path is not None:
        connections_path = connections_path.expanduser().resolve()
    logs = logs_dir or (
        Path(os.environ["OSIRIS_LOGS_DIR"]) if os.environ.get("OSIRIS_LOGS_DIR") else None
    )
    if logs is not None:
        logs = logs.expanduser().resolve()
    address = parse_http(http) if http else None
    os.chdir(project)  # drivers resolve what they are given like `osiris run` in the project
    ws = ops.Workspace(
        project,
        connections_path=connections_path,
        logs_dir=logs,
        samples=not no_samples and _samples_allowed(project),
    )
    ws.registry()  # built once, before threads share it; a broken plugin fails here, clearly
    if address is None:
        serve_stdio(ws, read_only=read_only)
    else:
        host, port = address
        if host not in LOOPBACK:
            click.echo(
                f"Warning: serving on {host}, reachable from other machines, without"
                " authentication; anyone who can connect can run pipelines.",
                err=True,
            )
        serve_http(ws, host=host, port=port, read_only=read_only)


@mcp.command("config")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project directory the server will work in.",
)
@click.option(
    "--read-only", is_flag=True, help="Configure a server without oml_save, compile, run."
)
@click.option(
    "--client",
    type=click.Choice(CLIENTS),
    default="claude-desktop",
    show_default=True,
    help="Format of the snippet (VS Code uses 'servers', the others 'mcpServers').",
)
@click.option(
    "--http", "http", metavar="[HOST:]PORT", help="Point the client at a running HTTP server."
)
def config(project: Path, read_only: bool, client: str, http: str | None) -> None:
    """Print the JSON to paste into an MCP client's configuration."""
    click.echo(
        json.dumps(client_config(project, read_only=read_only, client=client, http=http), indent=2)
    )


def _samples_allowed(project: Path) -> bool:
    """``llm.send_samples`` of the project's settings (osiris.yaml, OSIRIS_LLM_SEND_SAMPLES)."""
    from osiris.settings import load_settings

    settings = load_settings(cwd=project)
    if "llm" not in settings.effective():
        return True
    return bool(settings.get("llm", "send_samples"))


def client_config(project: Path, *, read_only: bool, client: str, http: str | None) -> dict:
    """The ``{"mcpServers": {"osiris": ...}}`` (or VS Code ``servers``) entry for a client."""
    if http:
        host, port = parse_http(http)
        entry: dict = {"type": "http", "url": http_url(host, port)}
        if (
            client == "claude-desktop"
        ):  # Claude Desktop starts local servers; bridge with mcp-remote
            entry = {"command": "npx", "args": ["-y", "mcp-remote", http_url(host, port)]}
    else:
        args = ["mcp", "serve", "--project", str(project.expanduser().resolve())]
        if read_only:
            args.append("--read-only")
        entry = {"command": osiris_executable(), "args": args}
        if client in ("vscode", "claude-code"):
            entry = {"type": "stdio", **entry}
    key = "servers" if client == "vscode" else "mcpServers"
    return {key: {"osiris": entry}}


def osiris_executable() -> str:
    """An absolute path to ``osiris``: desktop clients start servers with a minimal PATH."""
    here = Path(sys.executable).with_name("osiris")
    if here.is_file():
        return str(here)
    found = shutil.which("osiris")
    return str(Path(found).resolve()) if found else "osiris"


def parse_http(value: str) -> tuple[str, int]:
    """``"8765"``, ``":8765"``, ``"127.0.0.1:8765"`` or ``"[::1]:8765"`` → (host, port)."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or DEFAULT_HTTP_HOST
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port < 65536:
        raise click.BadParameter(
            f"'{value}' is not [HOST:]PORT with a port from 0 (any free port) to 65535.",
            param_hint="--http",
        )
    return host, port


def http_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{HTTP_PATH}"
