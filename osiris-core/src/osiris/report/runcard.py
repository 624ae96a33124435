"""``runcard.md``: a short Markdown summary of a run for a pull request or a chat channel."""

from __future__ import annotations

from typing import Any

MAX_STEP_ROWS = 40


def render_runcard(doc: dict[str, Any]) -> str:
    """Markdown from an AIOP document (so the card says exactly what the AIOP says)."""
    ev = doc["evidence"]
    run = ev["run"]
    totals = ev["totals"]
    mark = {"ok": "✅", "failed": "❌"}.get(run["status"], "⏳")
    word = {"ok": "succeeded", "failed": "failed"}.get(run["status"], "unfinished")
    name = run["pipeline"] or doc["metadata"]["session"]["kind"]
    lines = [f"### {mark} {_md(name)} {word}", ""]
    facts = [
        f"session `{run['session']}`",
        f"adapter **{ev['environment']['adapter']}**",
        f"{totals['steps']} steps",
    ]
    if run["duration_ms"] is not None:
        facts.append(f"{run['duration_ms'] / 1000:.2f} s")
    if run["exit_code"] not in (None, 0):
        facts.append(f"exit code {run['exit_code']}")
    lines += [" · ".join(facts), ""]
    if run["failed_step"]:
        error = next((e for e in ev["errors"] if e["step_id"] == run["failed_step"]), None)
        message = error["message"] if error else run["error"]
        lines += [f"**Failed at step `{run['failed_step']}`:** {_md(message or '')}", ""]
    elif run["error"]:
        lines += [f"**Error:** {_md(run['error'])}", ""]
    intent = doc["narrative"].get("intent")
    if intent:
        lines += [f"> {_md(intent['text'])}", ""]
    rows = [
        ("read", totals["rows_read"]),
        ("written", totals["rows_written"]),
        ("verified", totals["rows_verified"]),
    ]
    known = [f"{n:,} {label}" for label, n in rows if n is not None]
    if known:
        lines += ["Rows: " + ", ".join(known), ""]
    if ev["steps"]:
        lines += ["| step | component | status | rows | ms |", "|---|---|---|---:|---:|"]
        for step in ev["steps"][:MAX_STEP_ROWS]:
            rows_text = f"{step['rows_out']:,}" if step["rows_out"] is not None else ""
            ms = step["duration_ms"] if step["duration_ms"] is not None else ""
            lines.append(
                f"| `{step['step_id']}` | {step['component'] or ''} | {step['status']}"
                f" | {rows_text} | {ms} |"
            )
        if len(ev["steps"]) > MAX_STEP_ROWS:
            lines.append(
                f"| … {len(ev['steps']) - MAX_STEP_ROWS} more steps in aiop.json | | | | |"
            )
        lines.append("")
    delta = ev.get("delta")
    if delta:
        sentence = next(
            (s["text"] for s in doc["narrative"]["sentences"] if "delta" in s["cites"]), None
        )
        if sentence:
            lines += [f"Δ {sentence}", ""]
    fp = doc["semantic"]["pipeline"]["fingerprints"].get("manifest_fp")
    if fp:
        lines += [
            f"<sub>manifest `{fp[:19]}…` · osiris {doc['metadata']['generator']['version']}</sub>",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    """Keep table pipes and line breaks from breaking the Markdown."""
    return " ".join(str(text).replace("|", "\\|").split())
