"""Tokens of the context `osiris chat` sends for the movies database (tests/fixtures/movies_mysql.sql).

Loads the movies database into the local MariaDB, points the openai provider at the local test
server, and replays a typical conversation (list_connections, discover, sample, get_component,
propose_pipeline). It prints, for the first request (system prompt + tool definitions) and the
last one (after discovery), the request's characters and tokens. Tokens come from the o200k_base
and cl100k_base encodings of the `bpe-openai` package when it is installed (it ships its tables:
no download), else characters / 4.

    .venv/bin/python bench/chat_context_tokens.py
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "movies_mysql.sql"
OML = """\
oml_version: "0.1.0"
name: movies-director-summary
steps:
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.db_movies", table: movies}
  - id: write-movies
    component: filesystem.csv_writer
    mode: write
    needs: [extract-movies]
    config: {path: out/movies.csv}
"""


def counter():
    try:
        import bpe_openai
    except ImportError:
        return "characters / 4", {"chars/4": lambda text: len(text) // 4}
    encodings = {name: bpe_openai.get_encoding(name) for name in ("o200k_base", "cl100k_base")}
    return "bpe-openai", {n: (lambda text, e=e: len(e.encode(text))) for n, e in encodings.items()}


def main() -> None:
    import pymysql
    from osiris_llm.agent.factory import ChatSetup, open_chat
    from osiris_llm.testing import LLMTestServer, Turn

    database = f"bench_chat_{secrets.token_hex(4)}"
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    conn.cursor().execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    try:
        conn.select_db(database)
        with conn.cursor() as cur:
            for statement in FIXTURE.read_text(encoding="utf-8").split(";\n"):
                if statement.strip():
                    cur.execute(statement)
        with tempfile.TemporaryDirectory() as tmp, LLMTestServer() as server:
            project = Path(tmp)
            (project / "osiris_connections.yaml").write_text(
                "version: 1\nconnections:\n  mysql:\n    db_movies:\n      host: 127.0.0.1\n"
                f"      port: 3306\n      user: root\n      password: ''\n      database: {database}\n"
            )
            server.script(
                Turn(tool_calls=[("list_connections", {})]),
                Turn(tool_calls=[("discover", {"connection": "@mysql.db_movies"})]),
                Turn(
                    tool_calls=[("sample", {"connection": "@mysql.db_movies", "table": "movies"})]
                ),
                Turn(tool_calls=[("get_component", {"name": "mysql.extractor"})]),
                Turn(tool_calls=[("propose_pipeline", {"oml": OML, "summary": "Copy movies."})]),
            )
            env = {**os.environ, "OPENAI_API_KEY": "bench"}
            setup = ChatSetup(
                project_dir=project,
                cli_settings={"provider": "openai", "base_url": server.openai_url},
                environ=env,
            )
            agent = open_chat(setup)
            agent.send("copy every table of @mysql.db_movies, with a per-director summary")
            agent.session.close()
            bodies = [r["raw"] for r in server.requests]
    finally:
        conn.cursor().execute(f"DROP DATABASE `{database}`")
        conn.close()
    first = json.loads(bodies[0])
    parts = {
        "system prompt": first["messages"][0]["content"],
        "tool definitions": json.dumps(first["tools"]),
        "first request (whole body)": bodies[0],
        "last request (whole body, after discover + sample + get_component)": bodies[-1],
    }
    last = json.loads(bodies[-1])
    calls = {
        c["id"]: c["function"]["name"]
        for m in last["messages"]
        if m["role"] == "assistant"
        for c in m.get("tool_calls") or ()
    }
    for m in last["messages"]:
        if m["role"] == "tool":
            parts[f"tool result: {calls[m['tool_call_id']]}"] = m["content"]
    how, counters = counter()
    print(f"machine: {platform.machine()}, Python {sys.version.split()[0]}; tokens by {how}")
    for label, text in parts.items():
        counts = ", ".join(f"{n} {count(text):,}" for n, count in counters.items())
        print(f"{label}: {len(text):,} characters; {counts}")


if __name__ == "__main__":
    main()
