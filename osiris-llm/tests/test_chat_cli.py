"""``osiris chat``, ``osiris llm``, ``osiris dump-prompts`` as a person runs them: flags,
JSON shapes, exit codes, settings precedence, pro mode, and a chat killed mid-turn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from llm_support import PIPELINE, SECRET
from osiris.cli.main import cli
from osiris_llm.agent.store import ChatStore
from osiris_llm.testing import LLMTestServer, Turn

PROPOSE = Turn(tool_calls=[("propose_pipeline", {"oml": PIPELINE, "summary": "Copy movies."})])


@pytest.fixture
def server():
    with LLMTestServer() as s:
        yield s


@pytest.fixture
def here(project: Path, server: LLMTestServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work inside the project, with the provider pointed at the test server."""
    monkeypatch.chdir(project)
    for name in list(os.environ):
        if name.startswith("OSIRIS_LLM_") or name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000")
    monkeypatch.setenv("OSIRIS_LLM_BASE_URL", server.openai_url)
    return project


def osiris(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_message_json_then_approve(here, server):
    server.script(Turn(text="Looking.", tool_calls=[("list_connections", {})]), PROPOSE)
    code, out, _ = osiris("chat", "-m", "copy movies to a file", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"session_id", "state", "reply", "pipeline", "run"}
    assert data["state"] == "AWAITING_APPROVAL"
    assert data["pipeline"] == {"path": "pipelines/copy-movies.yaml", "valid": True, "errors": []}
    assert data["run"] is None
    chat_id = data["session_id"]

    code, out, _ = osiris("chat", "--approve", "--session", chat_id, "--json")
    assert code == 0, out
    ran = json.loads(out)
    assert ran["state"] == "COMPLETE"
    assert ran["run"]["ok"] is True and ran["run"]["rows_written"] == 3
    assert ran["run"]["session"].startswith("run_")
    assert len((here / "pipelines/output/movies.jsonl").read_text().splitlines()) == 3

    code, out, _ = osiris("logs", "list", "--json")
    logged = {s["session"]: s for s in json.loads(out)}
    assert logged[chat_id]["status"] == "ok"
    assert logged[chat_id]["pipeline"] == "pipelines/copy-movies.yaml"
    assert logged[ran["run"]["session"]]["status"] == "ok"
    code, out, _ = osiris("chat", "sessions", "list", "--json")
    assert [s["session_id"] for s in json.loads(out)] == [chat_id]
    code, out, _ = osiris("chat", "sessions", "show", chat_id, "--json")
    shown = json.loads(out)
    assert shown["run"]["rows_written"] == 3
    assert shown["usage"] == {"calls": 2, "tokens_in": 22, "tokens_out": 10}
    assert [p["valid"] for p in shown["proposals"]] == [True]
    assert shown["states"][-1] == {"from": "RUN", "to": "COMPLETE"}
    code, out, _ = osiris("chat", "sessions", "show", chat_id)
    assert "proposal 1: valid -> pipelines/copy-movies.yaml" in out
    assert (here / ".osiris" / "chat" / chat_id).is_dir()
    assert osiris("chat", "sessions", "rm", chat_id)[0] == 0
    assert not (here / ".osiris" / "chat" / chat_id).exists()
    code, _, err = osiris("chat", "sessions", "show", chat_id)
    assert code == 2 and "No chat session" in err


def test_yes_approves_and_runs_in_one_call(here, server):
    server.script(PROPOSE)
    code, out, _ = osiris("chat", "-m", "copy movies", "--yes", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["state"] == "COMPLETE"
    assert data["run"]["rows_written"] == 3


def test_plain_output_shows_the_proposal(here, server):
    server.script(PROPOSE)
    code, out, _ = osiris("chat", "-m", "copy movies")
    assert code == 0
    assert "Proposed pipeline: pipelines/copy-movies.yaml" in out
    assert "write_movies" in out and "output/movies.jsonl" in out
    assert "Connections used: @memtest.default" in out
    assert "osiris chat --approve --session chat_" in out


def test_flags_that_do_not_go_together_are_exit_2(here, server):
    for args, words in [
        (["--approve"], "--approve needs --session"),
        (["--yes"], "--yes applies to -m"),
        (["--sql", "SELECT 1"], "--sql and --connection go together"),
        (["--sql", "DELETE FROM movies", "--connection", "@mysql.x"], "--sql: "),
        (["-m", "x", "--out", "../elsewhere.yaml"], "outside the project directory"),
        (["-m", "x", "--out", "notes.txt"], "must end with .yaml"),
    ]:
        code, _, err = osiris("chat", *args)
        assert code == 2, args
        assert words in err


def test_sql_mode_builds_around_the_query(here, server):
    query = "SELECT id, title FROM movies"
    server.script(PROPOSE, Turn(text="I will use your query."))  # PROPOSE reads the table
    code, out, _ = osiris("chat", "--sql", query, "--connection", "@memtest.default", "--json")
    assert code == 0
    system = server.requests[0]["body"]["messages"][0]["content"]
    assert query in system and "exactly that query" in system
    assert "no read step runs the given query unchanged" in server.requests[1]["raw"]
    data = json.loads(out)
    assert data["state"] == "REGENERATE_ONCE"
    assert data["pipeline"]["valid"] is False, "the JSON shows the proposal sent back"
    assert "given query" in data["pipeline"]["errors"][-1]["message"]


def test_refused_key_and_unknown_model_are_exit_2(here, server):
    server.script(Turn(tool_calls=[("list_connections", {})]), Turn(status=401, error="bad key"))
    code, _, err = osiris("chat", "-m", "copy movies")
    assert code == 2 and "refused the API key" in err
    server.script(Turn(status=404, error="model m not found"))
    chat_id = ChatStore(here).latest().id
    code, _, err = osiris("chat", "-m", "again", "--session", chat_id, "--model", "nope")
    assert code == 2 and "does not know the model 'nope'" in err


def test_timeout_is_exit_1_with_the_chat_saved(here, server, monkeypatch):
    release = threading.Event()
    server.script(Turn(text="late", hold=release))
    monkeypatch.setenv("OSIRIS_LLM_TIMEOUT_S", "0.3")
    try:
        code, _, err = osiris("chat", "-m", "copy")
    finally:
        release.set()
    assert code == 1
    assert "did not answer within 0.3 s" in err and "osiris chat --resume chat_" in err


def test_llm_doctor(here, server, monkeypatch):
    server.script(Turn(text="ok"))
    code, out, _ = osiris("llm", "doctor", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["served_model"] == "gpt-4o-mini"
    assert report["sources"]["base_url"] == "ENV" and report["sources"]["model"] == "DEFAULT"
    assert isinstance(report["latency_ms"], int)
    server.script(Turn(status=401))
    assert osiris("llm", "doctor")[0] == 2
    server.script(Turn(status=404))
    code, _, err = osiris("llm", "doctor", "--model", "ghost")
    assert code == 2 and "ghost" in err
    code, _, err = osiris("llm", "doctor", "--base-url", "http://127.0.0.1:9/v1")
    assert code == 1 and "Cannot reach" in err
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OSIRIS_LLM_BASE_URL")
    code, _, err = osiris("llm", "doctor")
    assert code == 2 and "OPENAI_API_KEY" in err
    with (here / ".env").open("a") as env:  # the project's .env holds the key, as for connections
        env.write(f"OPENAI_API_KEY=sk-from-dotenv\nOPENAI_BASE_URL={server.openai_url}\n")
    server.script(Turn(text="ok"))
    assert osiris("llm", "doctor")[0] == 0
    assert "sk-from-dotenv" in server.requests[-1]["headers"]["authorization"]


def test_settings_precedence(here, server, monkeypatch):
    (here / "osiris.yaml").write_text("llm:\n  model: from-yaml\n  temperature: 0.5\n")
    monkeypatch.delenv("OSIRIS_LLM_BASE_URL")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)  # the SDK's own variable works
    server.default = Turn(text="ok")
    osiris("llm", "doctor")
    monkeypatch.setenv("OSIRIS_LLM_MODEL", "from-env")
    osiris("llm", "doctor")
    osiris("llm", "doctor", "--model", "from-cli")
    assert [b["model"] for b in server.bodies()] == ["from-yaml", "from-env", "from-cli"]
    (here / "osiris.yaml").write_text("llm:\n  modell: x\n")
    code, _, err = osiris("llm", "doctor")
    assert code == 2 and "modell" in err


def test_llm_providers_lists_both(here):
    _code, out, _ = osiris("llm", "providers", "--json")
    names = {p["name"]: p for p in json.loads(out)}
    assert set(names) >= {"openai", "anthropic"}
    assert names["anthropic"]["api_key_env"] == "ANTHROPIC_API_KEY"
    assert names["openai"]["distribution"] == "osiris-llm"


def test_pro_mode_prompts(here, server):
    code, _out, _ = osiris("dump-prompts", "--export", "my-prompts")
    assert code == 0
    folder = here / "my-prompts"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "conversation_system.txt",
        "sql_generation_system.txt",
        "user_prompt_template.txt",
    ]
    assert "{authoring_guidance}" in (folder / "README.md").read_text()
    assert osiris("dump-prompts", "--export", "my-prompts")[0] == 2, "edits are not overwritten"

    system = folder / "conversation_system.txt"
    system.write_text("HOUSE RULES. {connections}\n{authoring_guidance}")
    (folder / "user_prompt_template.txt").write_text("Request: {message}")
    server.script(Turn(text="ok"))
    code, _, err = osiris("chat", "--pro-mode", "--prompts-dir", "my-prompts", "-m", "copy")
    assert code == 0, err
    sent = server.requests[0]["body"]["messages"]
    assert sent[0]["content"].startswith("HOUSE RULES. - @memtest.default")
    assert "memtest.writer" in sent[0]["content"]
    assert sent[1]["content"] == "Request: copy"

    system.write_text("Use {secret_sauce}. {authoring_guidance}")
    code, _, err = osiris("chat", "--pro-mode", "--prompts-dir", "my-prompts", "-m", "copy")
    assert code == 2 and "unknown placeholder {secret_sauce}" in err
    system.write_text(f"The token is {SECRET}. {{authoring_guidance}}")
    code, _, err = osiris("chat", "--pro-mode", "--prompts-dir", "my-prompts", "-m", "copy")
    assert code == 2 and "contains a secret" in err and SECRET not in err
    assert len(server.requests) == 1, "a refused prompt is never sent"


def test_a_killed_chat_resumes_in_its_last_state(here, server):
    hold = threading.Event()
    server.script(Turn(tool_calls=[("list_connections", {})]), Turn(text="never", hold=hold))
    osiris_bin = Path(sys.executable).with_name("osiris")
    proc = subprocess.Popen(
        [str(osiris_bin), "chat", "-m", "copy movies", "--json"],
        cwd=here,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        server.wait_for_requests(2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        hold.set()
    chat = ChatStore(here).latest()
    assert chat.state == "DISCOVERY"
    server.script(PROPOSE)
    code, out, _ = osiris("chat", "--resume", "-m", "go on", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["session_id"] == chat.id and data["state"] == "AWAITING_APPROVAL"
    history = server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "tool", "user"]
    assert history[1]["content"] == "copy movies"


def _spawn(here: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("osiris")), *args],
        cwd=here,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_interactive_chat_streams_and_runs_after_yes(here, server, monkeypatch, kind):
    if kind == "anthropic":
        monkeypatch.setenv("OSIRIS_LLM_PROVIDER", "anthropic")
        monkeypatch.setenv("OSIRIS_LLM_BASE_URL", server.anthropic_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-000")
    server.script(
        Turn(text="Checking your connections first.", tool_calls=[("list_connections", {})]),
        Turn(text="Here it is.", tool_calls=PROPOSE.tool_calls),
    )
    proc = _spawn(here, "chat")
    out, err = proc.communicate("copy the movies\ny\n", timeout=120)
    assert proc.returncode == 0, err
    assert "osiris> Checking your connections first.\n" in out
    assert "Proposed pipeline: pipelines/copy-movies.yaml" in out
    assert "Run succeeded: 3 rows written" in out
    assert "Resume with: osiris chat --resume chat_" in out
    assert all(r["body"].get("stream") is True for r in server.requests)
    assert len((here / "pipelines/output/movies.jsonl").read_text().splitlines()) == 3


def test_ctrl_c_leaves_the_chat_resumable(here, server):
    hold = threading.Event()
    server.script(Turn(text="slow", hold=hold))
    proc = _spawn(here, "chat")
    try:
        proc.stdin.write("copy the movies\n")
        proc.stdin.flush()
        server.wait_for_requests(1)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        hold.set()
    assert proc.returncode == 130
    chat = ChatStore(here).latest()
    assert f"Interrupted. Resume with: osiris chat --resume {chat.id}" in err
    assert chat.state == "INTENT_CAPTURED"
    events = (here / "logs" / chat.id / "events.jsonl").read_text()
    assert '"chat_interrupted"' in events


def test_interactive_chat_survives_a_failed_turn(here, server):
    server.script(Turn(status=401, error="bad key"), Turn(text="Hello again."))
    proc = _spawn(here, "chat")
    out, err = proc.communicate("first\nsecond\n", timeout=120)
    assert proc.returncode == 0, err
    assert "Error: The openai service" in out and "refused the API key" in out
    assert "osiris> Hello again." in out


def test_a_third_party_provider_is_listed_and_chats(here, monkeypatch):
    code, out, _ = osiris("llm", "providers", "--json")
    echo = next(p for p in json.loads(out) if p["name"] == "echo")
    assert echo["distribution"] == "osiris-llm-echoprovider" and echo["api_key_env"] is None
    code, out, _ = osiris("plugins", "--json")
    assert any(p["distribution"] == "osiris-llm-echoprovider" for p in json.loads(out))
    monkeypatch.delenv("OSIRIS_LLM_BASE_URL")
    code, out, err = osiris("chat", "--provider", "echo", "-m", "hello there", "--json")
    assert code == 0, err
    assert json.loads(out)["reply"] == "echo: hello there"


def test_temperature_and_max_tokens_reach_the_request(here, server, monkeypatch):
    (here / "osiris.yaml").write_text("llm:\n  max_tokens: 321\n  temperature: 0.9\n")
    monkeypatch.setenv("OSIRIS_LLM_TEMPERATURE", "0.3")  # the variable wins over the file
    server.script(Turn(text="ok"))
    assert osiris("chat", "-m", "hi", "--json")[0] == 0
    body = server.requests[0]["body"]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 321
