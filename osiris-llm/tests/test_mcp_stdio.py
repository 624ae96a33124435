"""``osiris mcp serve`` over stdio with the SDK's real client (memtest plugin, real runs)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from llm_support import PIPELINE, SECRET, TABLES
from mcp_client import error_text, payload, stdio_session
from osiris.registry import build_registry
from osiris_llm.prompts import authoring_guidance

ALL_TOOLS = {
    "connections_list",
    "connections_doctor",
    "components_list",
    "component_get",
    "discover",
    "oml_schema",
    "oml_validate",
    "oml_save",
    "compile",
    "run",
    "runs_list",
    "run_show",
    "aiop_get",
}


def _mcp_session_events(project: Path) -> list[dict]:
    (session,) = [p for p in (project / "logs").iterdir() if p.name.startswith("mcp_")]
    return [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]


def test_the_whole_loop_over_stdio(project):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done, total, message):
        progress.append((done, total, message))

    async def main():
        async with stdio_session(project) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == ALL_TOOLS
            assert tools["run"].annotations.destructive_hint is True
            assert tools["run"].annotations.read_only_hint is False
            assert tools["discover"].annotations.read_only_hint is True
            assert tools["oml_save"].input_schema["required"] == ["path", "oml"]

            (conn,) = payload(await client.call_tool("connections_list", {}))["connections"]
            assert conn["reference"] == "@memtest.default" and conn["secret_fields"] == ["token"]
            (check,) = payload(await client.call_tool("connections_doctor", {}))["results"]
            assert check["ok"] is True
            names = [
                c["name"]
                for c in payload(await client.call_tool("components_list", {}))["components"]
            ]
            assert "memtest.extractor" in names
            spec = payload(await client.call_tool("component_get", {"name": "memtest.writer"}))
            assert spec["configSchema"]["required"] == ["path"]
            found = payload(
                await client.call_tool("discover", {"reference": "@memtest.default", "samples": 2})
            )
            movies = next(t for t in found["tables"] if t["name"] == "movies")
            assert movies["samples"] == TABLES["movies"][:2]
            schema = payload(await client.call_tool("oml_schema", {}))
            assert schema["required"] == ["oml_version", "name", "steps"]

            bad = payload(
                await client.call_tool(
                    "oml_validate", {"oml": PIPELINE.replace("read_movies]", "nope]")}
                )
            )
            assert bad["valid"] is False and "nope" in json.dumps(bad["errors"])
            saved = payload(
                await client.call_tool("oml_save", {"path": "copy.yaml", "oml": PIPELINE})
            )
            assert saved["saved"] is True and (project / "copy.yaml").read_text() == PIPELINE
            checked = payload(await client.call_tool("oml_validate", {"path": "copy.yaml"}))
            assert checked["valid"] is True
            compiled = payload(await client.call_tool("compile", {"path": "copy.yaml"}))
            assert compiled["ok"] is True and (project / "compiled" / "manifest.yaml").is_file()

            ran = payload(
                await client.call_tool("run", {"path": "copy.yaml"}, progress_callback=on_progress)
            )
            assert ran["ok"] is True and ran["status"] == "succeeded"
            assert ran["steps"]["read_movies"]["rows"] == 3 and ran["rows_written"] == 3
            out = (project / "output" / "movies.jsonl").read_text().splitlines()
            assert [json.loads(line)["id"] for line in out] == [1, 2, 3]

            runs = payload(await client.call_tool("runs_list", {}))["runs"]
            assert [r["session"] for r in runs] == [ran["session"]]
            shown = payload(await client.call_tool("run_show", {"session": ran["session"]}))
            assert shown["steps"]["write_movies"]["rows"] == 3 and shown["ok"] is True
            aiop = payload(await client.call_tool("aiop_get", {"session": ran["session"]}))
            assert {"evidence", "semantic", "narrative", "metadata"} <= set(aiop)
            assert aiop["evidence"]["run"]["session"] == ran["session"]
            assert aiop["evidence"]["totals"]["rows_written"] == 3
            card = payload(await client.call_tool("aiop_get", {"session": "last", "format": "md"}))
            assert "copy-movies" in card["runcard"]

            uris = {str(r.uri) for r in (await client.list_resources()).resources}
            assert {
                "osiris://oml/schema",
                "osiris://connections",
                "osiris://runs",
                "osiris://components/memtest.extractor",
                f"osiris://runs/{ran['session']}",
            } <= uris
            read = await client.read_resource(f"osiris://runs/{ran['session']}")
            assert json.loads(read.contents[0].text)["rows_written"] == 3

            prompt = await client.get_prompt("author_pipeline", {"goal": "copy movies to JSON"})
            (message,) = prompt.messages
            guidance = authoring_guidance(build_registry())
            assert message.content.text.startswith(guidance)
            assert "memtest.extractor" in guidance and "copy movies to JSON" in message.content.text

    anyio.run(main)
    assert progress and progress[-1][0] == progress[-1][1] == 2
    assert any("write_movies done, 3 rows" in (m or "") for _, _, m in progress)
    events = _mcp_session_events(project)
    assert events[0]["event"] == "mcp_start" and events[-1]["event"] == "mcp_stop"
    calls = [e for e in events if e["event"] == "mcp_call"]
    assert [c["target"] for c in calls if c["kind"] == "tool"][:3] == [
        "connections_list",
        "connections_doctor",
        "components_list",
    ]
    assert all(isinstance(c["duration_ms"], int) for c in calls)
    from osiris.testing.session_checks import line_problems

    (session,) = [p for p in (project / "logs").iterdir() if p.name.startswith("mcp_")]
    assert line_problems(session / "events.jsonl") == []
    assert json.loads((session / "status.json").read_text())["calls"] == len(calls)


def test_read_only_mode_has_no_writing_tools(project):
    async def main():
        async with stdio_session(project, "--read-only") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == ALL_TOOLS - {"oml_save", "compile", "run"}
            from mcp.shared.exceptions import MCPError

            with pytest.raises(MCPError, match="read-only"):
                await client.call_tool("run", {"path": "copy.yaml"})
            for tool in ("connections_list", "runs_list"):
                assert not (await client.call_tool(tool, {})).is_error

    anyio.run(main)
    assert not (project / "copy.yaml").exists()


def test_bad_arguments_and_path_escapes_are_one_sentence_and_the_server_keeps_serving(
    project, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "escape").symlink_to(outside)

    async def main():
        async with stdio_session(project) as client:
            cases = {
                ("oml_save", '{"path": "../evil.yaml", "oml": "x"}'): "outside the project",
                ("oml_save", '{"path": "/etc/evil.yaml", "oml": "x"}'): "outside the project",
                ("oml_save", '{"path": "escape/evil.yaml", "oml": "x"}'): "outside the project",
                ("run", '{"path": "../../etc/passwd"}'): "outside the project",
                ("compile", '{"path": "escape"}'): "outside the project",
                ("discover", '{"reference": "mysql"}'): "'@family.alias'",
                ("discover", '{"reference": "@memtest", "samples": 99}'): "at most 20",
                ("discover", '{"reference": "@memtest", "tables": "movies"}'): "must be a list",
                ("component_get", "{}"): "Missing required argument 'name'",
                ("runs_list", '{"limit": "ten"}'): "must be an integer",
                ("oml_schema", '{"x": 1}'): "Unknown argument 'x'",
                ("run_show", '{"session": "../../x"}'): "'session'",
                ("component_get", '{"name": "nope.nothing"}'): "Unknown component",
                ("run", '{"path": "missing.yaml"}'): "does not exist",
                ("oml_validate", '{"path": "osiris_connections.yaml"}'): "not a pipeline file",
                ("run", '{"path": ".env"}'): "not a pipeline file",
                ("oml_validate", "{}"): "Give the argument 'oml'",
            }
            for (tool, arguments), expected in cases.items():
                text = error_text(await client.call_tool(tool, json.loads(arguments)))
                assert expected in text, (tool, text)
                assert "Traceback" not in text and "\n" not in text, text
            assert not (outside / "evil.yaml").exists()
            from mcp.shared.exceptions import MCPError

            for uri, expected in (
                ("osiris://nope", "Unknown resource"),
                ("osiris://components/nope.nothing", "Unknown component"),
                ("osiris://runs/../../etc", "'session'"),
            ):
                with pytest.raises(MCPError, match=expected) as caught:
                    await client.read_resource(uri)
                assert "Traceback" not in str(caught.value)
            with pytest.raises(MCPError, match="Unknown prompt"):
                await client.get_prompt("write_everything", {})
            with pytest.raises(MCPError, match="Unknown tool 'drop_tables'"):
                await client.call_tool("drop_tables", {})
            # still serving after every failure
            assert payload(await client.call_tool("connections_list", {}))["connections"]

    anyio.run(main)
    calls = [e for e in _mcp_session_events(project) if e["event"] == "mcp_call"]
    assert sum(1 for c in calls if c["ok"] is False) >= 17


def test_a_crashing_run_does_not_take_the_server_down_and_no_secret_leaks(project):
    crashing = PIPELINE.replace("table: movies}", "table: movies, crash: true}")
    texts: list[str] = []

    async def main():
        async with stdio_session(project) as client:
            for tool in (
                "connections_list",
                "connections_doctor",
                "components_list",
                "oml_schema",
                "runs_list",
            ):
                texts.append((await client.call_tool(tool, {})).content[0].text)
            (project / "token.txt").write_text("rotated-token")  # the check now fails on auth
            refused = await client.call_tool("connections_doctor", {"reference": "@memtest"})
            (check,) = json.loads(refused.content[0].text)["results"]
            assert check["category"] == "auth" and "***" in check["message"]
            texts.append(refused.content[0].text)
            texts.append(
                (await client.call_tool("discover", {"reference": "@memtest", "samples": 20}))
                .content[0]
                .text
            )
            texts.append(
                (await client.call_tool("component_get", {"name": "memtest.extractor"}))
                .content[0]
                .text
            )
            # a literal secret in OML is refused by the validator, and not echoed
            leaky = PIPELINE.replace("table: movies}", f'table: movies, token: "{SECRET}"}}')
            texts.append((await client.call_tool("oml_validate", {"oml": leaky})).content[0].text)
            texts.append(
                (await client.call_tool("oml_save", {"path": "crash.yaml", "oml": crashing}))
                .content[0]
                .text
            )
            compiled = await client.call_tool("compile", {"path": "crash.yaml"})
            assert json.loads(compiled.content[0].text)["ok"] is True
            texts.append(compiled.content[0].text)
            result = await client.call_tool("run", {"path": "crash.yaml"})
            texts.append(result.content[0].text)
            ran = json.loads(result.content[0].text)
            assert ran["ok"] is False and ran["steps"]["read_movies"]["status"] == "failed"
            assert "driver exploded" in ran["error"] and "***" in ran["error"]
            texts.append(
                (await client.call_tool("run_show", {"session": ran["session"]})).content[0].text
            )
            prompt = await client.get_prompt("author_pipeline", {})
            texts.append(prompt.messages[0].content.text)
            for resource in (await client.list_resources()).resources:
                read = await client.read_resource(resource.uri)
                texts.extend(c.text for c in read.contents)
            # the server is still there after the crash
            assert payload(await client.call_tool("runs_list", {}))["runs"][0]["status"] == "failed"

    anyio.run(main)
    assert len(texts) > 15
    for text in texts:
        assert SECRET not in text
    for path in (project / "logs").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in (project.parent / "server-stderr.log").read_text()


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_samples_can_be_turned_off(project, how):
    extra = ("--no-samples",) if how == "flag" else ()
    if how == "setting":
        (project / "osiris.yaml").write_text("llm:\n  send_samples: false\n", encoding="utf-8")

    async def main():
        async with stdio_session(project, *extra) as client:
            text = error_text(
                await client.call_tool("discover", {"reference": "@memtest", "samples": 3})
            )
            assert "--no-samples" in text
            found = payload(await client.call_tool("discover", {"reference": "@memtest"}))
            assert all("samples" not in t for t in found["tables"])

    anyio.run(main)
