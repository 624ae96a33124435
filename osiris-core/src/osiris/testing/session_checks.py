"""Checks that a session directory is what ``docs/reference/events.md`` promises.

Any test that runs a pipeline can call ``assert_session_valid(session_dir)``: every line of
events.jsonl and metrics.jsonl must validate against the published JSON Schemas, status.json
must agree with the last event, the AIOP (when exported) must validate against its schema and
agree with status.json, and no planted secret may appear in any file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


@cache
def _validator(name: str) -> Any:
    import jsonschema

    text = (resources.files("osiris") / "schemas" / name).read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def line_problems(path: Path, kind: str | None = None) -> list[str]:
    """Every line of an events.jsonl / metrics.jsonl file that breaks its schema.

    ``kind`` ("events" or "metrics") defaults to what the file name says.
    """
    kind = kind or ("events" if path.name.endswith("events.jsonl") else "metrics")
    validator = _validator(f"{kind}.schema.json")
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON ({exc})")
            continue
        for error in validator.iter_errors(record):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{path}:{number}: {where}: {error.message}")
    return problems


def assert_lines_valid(paths: Iterable[Path]) -> int:
    """Validate many files; return how many lines were checked."""
    problems: list[str] = []
    lines = 0
    for path in paths:
        problems += line_problems(path)
        lines += len(path.read_text(encoding="utf-8").splitlines())
    assert not problems, "Invalid event/metric lines:\n" + "\n".join(problems[:20])
    return lines


def assert_session_valid(session_dir: Path, *, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Validate one session; return its status.json."""
    session_dir = Path(session_dir)
    for name in ("events.jsonl", "metrics.jsonl", "osiris.log", "status.json"):
        assert (session_dir / name).is_file(), f"{session_dir} has no {name}"
    assert_lines_valid([session_dir / "events.jsonl", session_dir / "metrics.jsonl"])
    events = [json.loads(x) for x in (session_dir / "events.jsonl").read_text().splitlines()]
    status = json.loads((session_dir / "status.json").read_text(encoding="utf-8"))
    assert events and events[0]["event"] == "run_start", "a session starts with run_start"
    last = events[-1]["event"]
    assert last == ("run_complete" if status["ok"] else "run_error"), (
        f"status ok={status['ok']} but the last event is {last}"
    )
    assert {e["session"] for e in events} == {session_dir.name}
    assert status["session"] == session_dir.name
    assert (status["error"] is None) == bool(status["ok"])
    aiop = session_dir / "aiop" / "aiop.json"
    if aiop.is_file():
        doc = assert_aiop_valid(aiop)
        run = doc["evidence"]["run"]
        assert run["status"] == ("ok" if status["ok"] else "failed"), "AIOP status != status.json"
        assert run["session"] == session_dir.name
    assert_no_secrets(session_dir, secrets)
    return status


def assert_aiop_valid(path: Path) -> dict[str, Any]:
    """An ``aiop.json`` valid against the published schema, with every citation resolvable."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    problems = [
        f"{path}: {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in _validator("aiop.schema.json").iter_errors(doc)
    ]
    assert not problems, "Invalid AIOP:\n" + "\n".join(problems[:20])
    ev = doc["evidence"]
    known = {"run", "totals", "environment", "delta"} | ({"intent"} if ev["intent"] else set())
    known |= {t["id"] for t in ev["timeline"]}
    for rows in (ev["steps"], ev["errors"], ev["metrics"], ev["artifacts"]):
        known |= {r["id"] for r in rows}
    for sentence in doc["narrative"]["sentences"]:  # a cut timeline keeps the cited events
        missing = {c for c in sentence["cites"] if c not in known}
        assert not missing, f"{path}: narrative cites unknown evidence {sorted(missing)}"
    return doc


def assert_no_secrets(root: Path, secrets: Iterable[str], texts: Iterable[str] = ()) -> None:
    """No secret in any file under ``root`` (bytes, so binary files count too) nor in ``texts``."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"secret found in {path}"
    for text in texts:
        for secret in secrets:
            assert secret not in text, "secret found in output"
