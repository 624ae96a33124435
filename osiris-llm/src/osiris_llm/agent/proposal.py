"""A proposed pipeline: the OML out of a text reply, its file name, and what it will do.

``describe`` is what the person reads before approving: the steps in order, the connections
used, and for every write step what it does to its target, in words.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:ya?ml|oml)[^\n]*\n(?P<body>.*?)```", re.DOTALL | re.IGNORECASE)
_NAME = re.compile(r"[^a-z0-9_-]+")
WRITE_MODES = {
    "append": "adds the rows to",
    "replace": "replaces the whole contents of",
    "upsert": "inserts or updates rows (by key) in",
    "overwrite": "overwrites",
}


def yaml_block(text: str) -> tuple[str | None, str]:
    """The first fenced ```yaml block holding an OML document, and the text around it."""
    for match in _FENCE.finditer(text or ""):
        body = match["body"]
        if "oml_version" in body or "steps:" in body:
            rest = (text[: match.start()] + text[match.end() :]).strip()
            return body.strip() + "\n", rest
    return None, text or ""


def with_intent(oml: str, intent: str | None, chat_session: str) -> str:
    """The OML with ``metadata: {intent, chat_session}`` (docs/reference/aiop.md), so the run's
    AIOP and report say which request it was built from. OML that has its own ``metadata``
    stays as the model wrote it; otherwise the block is appended (top-level order is free)."""
    data = _load(oml)
    if not intent or not isinstance(data, dict) or "metadata" in data:
        return oml
    block = f"metadata:\n  intent: {json.dumps(intent, ensure_ascii=False)}\n"
    block += f"  chat_session: {chat_session}\n"
    return oml.rstrip("\n") + "\n" + block


def pipeline_name(oml: str) -> str:
    """A file-safe name from the OML's ``name`` (``pipeline`` when it has none)."""
    data = _load(oml)
    raw = str(data.get("name") or "pipeline") if isinstance(data, dict) else "pipeline"
    name = _NAME.sub("-", raw.strip().lower()).strip("-._")
    return name[:80] or "pipeline"


def describe(oml: str, order: list[str] | None = None, *, folder: str = "") -> dict[str, Any]:
    """Steps (in run order when given), connections used, and each write step's effect.

    ``folder`` is the pipeline file's folder in the project: a file path without a connection
    is relative to it, so the person sees where the file really goes."""
    data = _load(oml)
    steps_raw = data.get("steps") if isinstance(data, dict) else None
    steps_raw = [s for s in steps_raw or [] if isinstance(s, dict)]
    by_id = {str(s.get("id") or s.get("name")): s for s in steps_raw}
    ids = [i for i in (order or []) if i in by_id] or list(by_id)
    steps = []
    connections: list[str] = []
    for step_id in ids:
        step = by_id[step_id]
        config = step.get("config") if isinstance(step.get("config"), dict) else {}
        connection = config.get("connection")
        if isinstance(connection, str) and connection not in connections:
            connections.append(connection)
        item = {
            "id": step_id,
            "component": step.get("component"),
            "mode": step.get("mode"),
            "needs": list(step.get("needs") or []),
            "connection": connection,
        }
        if step.get("mode") == "write":
            item["effect"] = write_effect(config, folder)
        elif step.get("mode") == "read":
            item["effect"] = read_effect(config)
        elif step.get("mode") == "transform":
            inputs = ", ".join(item["needs"]) or "no input"
            item["effect"] = f"computes a new table from {inputs} (nothing is written)"
        steps.append(item)
    return {
        "name": data.get("name") if isinstance(data, dict) else None,
        "steps": steps,
        "connections": connections,
    }


def reads_query(oml: str, sql: str, connection: str | None) -> bool:
    """Whether a read step runs ``sql`` (whitespace and a final ; aside) on ``connection``."""

    def norm(text: Any) -> str:
        return " ".join(str(text).split()).rstrip(";").strip()

    data = _load(oml)
    for step in (data.get("steps") or []) if isinstance(data, dict) else []:
        config = step.get("config") if isinstance(step, dict) else None
        if step.get("mode") != "read" or not isinstance(config, dict):
            continue
        if norm(config.get("query", "")) == norm(sql) and (
            connection is None or config.get("connection") == connection
        ):
            return True
    return False


def write_effect(config: dict[str, Any], folder: str = "") -> str:
    """One sentence: what a write step will do to its target."""
    mode = str(config.get("write_mode") or config.get("mode") or "append")
    verb = WRITE_MODES.get(mode, f"writes ({mode}) to")
    where = config.get("connection")
    if config.get("table"):
        schema = f"{config['schema']}." if config.get("schema") else ""
        target = f"table {schema}{config['table']}" + (f" on {where}" if where else "")
    elif config.get("path"):
        path = str(config["path"])
        if not where and folder and not path.startswith(("/", "${")):
            path = f"{folder.rstrip('/')}/{path}"
        target = f"file {path}" + (f" on {where}" if where else "")
        if "write_mode" not in config and "mode" not in config:
            verb = "writes (creating or replacing)"
    else:
        target = where or "its target"
    sentence = f"{verb} {target}"
    key = config.get("primary_key") or config.get("upsert_keys")
    if mode == "upsert" and key:
        sentence += f" keyed by {', '.join(key) if isinstance(key, list) else key}"
    if config.get("create_if_missing") or config.get("create_table"):
        sentence += "; creates the table if it does not exist"
    return sentence


def read_effect(config: dict[str, Any]) -> str:
    where = config.get("connection")
    source = config.get("table") or config.get("path") or ("a query" if config.get("query") else "")
    return f"reads {source}" + (f" from {where}" if where else "") + " (read-only)"


def _load(oml: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(oml) or {}
    except yaml.YAMLError:
        return {}
