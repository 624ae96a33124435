"""The SDK's real client against a real ``osiris mcp serve`` subprocess (stdio) or HTTP server."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

OSIRIS = Path(sys.executable).with_name("osiris")


def server_env() -> dict[str, str]:
    """What the spawned server needs beyond the SDK's minimal default environment."""
    keep = ("PYTHONPATH", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS", "CI")
    return {k: os.environ[k] for k in keep if k in os.environ}


@asynccontextmanager
async def stdio_session(project: Path, *extra: str) -> AsyncIterator[Any]:
    """An initialized ``ClientSession`` talking to ``osiris mcp serve --project PROJECT``."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=str(OSIRIS),
        args=["mcp", "serve", "--project", str(project), *extra],
        env=server_env(),
        cwd=str(project.parent),
    )
    with open(project.parent / "server-stderr.log", "a", encoding="utf-8") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[Any]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def payload(result: Any) -> Any:
    """The JSON a tool returned (its text content), asserting the call succeeded."""
    assert not result.is_error, result.content[0].text
    data = json.loads(result.content[0].text)
    assert data == result.structured_content
    return data


def error_text(result: Any) -> str:
    assert result.is_error, result
    (content,) = result.content
    return content.text
