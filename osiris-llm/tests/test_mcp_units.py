"""The MCP server's pure parts: argument sentences, the tool table, --http parsing, config."""

from __future__ import annotations

import click
import pytest
from osiris.errors import InvalidInputError
from osiris_llm.mcp.arguments import check_arguments
from osiris_llm.mcp.cli import client_config, parse_http
from osiris_llm.mcp.tools import TOOLS, WRITING_TOOLS, tools_for

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 5},
        "tables": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["path"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        ({}, "Missing required argument 'path' for 'demo'."),
        ({"path": "a", "x": 1}, "Unknown argument 'x' for 'demo'; it takes: limit, path, tables."),
        ({"path": 3}, "Argument 'path' of 'demo' must be text, got 3."),
        ({"path": ""}, "Argument 'path' of 'demo' must not be empty."),
        ({"path": "a", "limit": 9}, "Argument 'limit' of 'demo' must be at most 5, got 9."),
        ({"path": "a", "tables": ["t", 2]}, "Argument 'tables[1]' of 'demo' must be text, got 2."),
        ([1], "The arguments of 'demo' must be an object."),
    ],
)
def test_bad_arguments_are_one_sentence(arguments, sentence):
    with pytest.raises(InvalidInputError) as caught:
        check_arguments("demo", SCHEMA, arguments)
    assert str(caught.value) == sentence


def test_good_arguments_pass_through():
    assert check_arguments("demo", SCHEMA, {"path": "a", "limit": 2}) == {"path": "a", "limit": 2}
    assert check_arguments("demo", {"type": "object"}, None) == {}


def test_tool_table_is_truthful():
    by_name = {t.name: t for t in TOOLS}
    for name in WRITING_TOOLS:
        assert by_name[name].read_only is False
    for tool in TOOLS:
        assert tool.read_only == (tool.name not in WRITING_TOOLS), tool.name
        assert tool.input_schema["additionalProperties"] is False
        assert not (tool.read_only and tool.destructive), tool.name
        assert 40 < len(tool.description) < 500, tool.name
    assert by_name["run"].idempotent is False and by_name["run"].destructive is True
    assert {t.name for t in tools_for(read_only=True)}.isdisjoint(WRITING_TOOLS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8765", ("127.0.0.1", 8765)),
        (":8765", ("127.0.0.1", 8765)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_http(value, expected):
    assert parse_http(value) == expected


@pytest.mark.parametrize("value", ["", "x", "1:2:x", "70000", "-1"])
def test_parse_http_refuses(value):
    with pytest.raises(click.BadParameter):
        parse_http(value)


def test_client_config_formats(tmp_path):
    stdio = client_config(tmp_path, read_only=False, client="cursor", http=None)
    assert stdio["mcpServers"]["osiris"]["args"][-2:] == ["--project", str(tmp_path.resolve())]
    assert "type" not in stdio["mcpServers"]["osiris"]
    code = client_config(tmp_path, read_only=True, client="claude-code", http=None)
    assert code["mcpServers"]["osiris"]["type"] == "stdio"
    assert code["mcpServers"]["osiris"]["args"][-1] == "--read-only"
    desktop = client_config(tmp_path, read_only=False, client="claude-desktop", http="9000")
    assert desktop["mcpServers"]["osiris"]["args"] == [
        "-y",
        "mcp-remote",
        "http://127.0.0.1:9000/mcp",
    ]
    vscode = client_config(tmp_path, read_only=False, client="vscode", http="[::1]:9000")
    assert vscode == {"servers": {"osiris": {"type": "http", "url": "http://[::1]:9000/mcp"}}}
