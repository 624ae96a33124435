"""``osiris mcp serve --http`` with the SDK's streamable HTTP client, and ``osiris mcp config``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from llm_support import PIPELINE, SECRET
from mcp_client import OSIRIS, http_session, payload, server_env


@pytest.fixture
def http_server(project):
    """A real server on a free loopback port; yields its URL, then stops it with SIGTERM."""
    process = subprocess.Popen(
        [str(OSIRIS), "mcp", "serve", "--project", str(project), "--http", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**server_env(), "PATH": "/usr/bin:/bin", "HOME": str(project.parent)},
    )
    line = process.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
    assert match, line + process.stderr.read()
    server = _Server(match.group(0), process)
    yield server
    server.stop()


class _Server:
    def __init__(self, url: str, process: subprocess.Popen) -> None:
        self.url = url
        self.process = process

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; returns what it wrote on stderr."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            _, rest = self.process.communicate(timeout=30)
            assert SECRET not in rest
            assert self.process.returncode == 0, rest
        return ""


def test_the_loop_over_streamable_http(project, http_server):
    progress = []

    async def on_progress(done, total, message):
        progress.append(message)

    async def main():
        async with http_session(http_server.url) as client:
            assert len((await client.list_tools()).tools) == 13
            prompts = (await client.list_prompts()).prompts
            assert [p.name for p in prompts] == ["author_pipeline"]
            saved = payload(await client.call_tool("oml_save", {"path": "p.yaml", "oml": PIPELINE}))
            assert saved["saved"] is True
            ran = payload(
                await client.call_tool("run", {"path": "p.yaml"}, progress_callback=on_progress)
            )
            assert ran["ok"] is True and ran["rows_written"] == 3
            shown = payload(await client.call_tool("run_show", {"session": "last"}))
            assert shown["session"] == ran["session"]
            read = await client.read_resource("osiris://connections")
            assert SECRET not in read.contents[0].text and "token" in read.contents[0].text

    anyio.run(main)
    http_server.stop()
    assert "write_movies done, 3 rows" in progress
    (session,) = [p for p in (project / "logs").iterdir() if p.name.startswith("mcp_")]
    events = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    assert events[0]["transport"] == "http" and events[-1]["event"] == "mcp_stop"


def test_http_refuses_a_foreign_host_header(project, http_server):
    """DNS-rebinding protection: a page on evil.example must not reach the local server."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(http_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    connection.request(
        "POST",
        url.path,
        body=body,
        headers={
            "Host": "evil.example",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    response = connection.getresponse()
    assert response.status in (400, 403, 421), response.status
    connection.close()


def test_config_snippets(tmp_path: Path):
    from osiris.cli.main import cli

    result = CliRunner().invoke(cli, ["mcp", "config", "--project", str(tmp_path), "--read-only"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)["mcpServers"]["osiris"]
    assert Path(entry["command"]).name == "osiris" and Path(entry["command"]).is_absolute()
    assert entry["args"] == ["mcp", "serve", "--project", str(tmp_path.resolve()), "--read-only"]
    vscode = CliRunner().invoke(
        cli, ["mcp", "config", "--client", "vscode", "--project", str(tmp_path)]
    )
    assert json.loads(vscode.output)["servers"]["osiris"]["type"] == "stdio"
    remote = CliRunner().invoke(cli, ["mcp", "config", "--client", "cursor", "--http", "8765"])
    assert json.loads(remote.output) == {
        "mcpServers": {"osiris": {"type": "http", "url": "http://127.0.0.1:8765/mcp"}}
    }
    bad = CliRunner().invoke(cli, ["mcp", "serve", "--http", "127.0.0.1:99999"])
    assert bad.exit_code == 2 and "port from 0" in bad.output
