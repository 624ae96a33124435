"""A deterministic account of a session in plain sentences, each citing the evidence it rests on.

Built from facts only (no model writes it): the same session always gives the same sentences.
Every sentence carries ``cites``, the evidence ids (``ev:N`` event lines, ``step:ID``,
``error:ID``, ``totals``, ``delta``, ``intent``, ``environment``) a reader can check it against.
"""

from __future__ import annotations

from typing import Any

from osiris.report.model import SessionView
from osiris.report.timeline import max_parallel, spans

MAX_LISTED = 8
"""Steps named in one sentence before it says "and N more"."""


def step_eid(step_id: str) -> str:
    return f"step:{step_id}"


def error_eid(step_id: str | None) -> str:
    return f"error:{step_id}" if step_id else "error:run"


def sentences(view: SessionView, delta: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The narrative of ``view``: a list of ``{"text", "cites"}``."""
    out: list[dict[str, Any]] = []

    def say(text: str, *cites: str | None) -> None:
        out.append({"text": text, "cites": [c for c in dict.fromkeys(cites) if c]})

    start = view.first_event("run_start")
    end = view.last_event("run_complete") or view.last_event("run_error")
    what = f"pipeline '{view.pipeline}'" if view.pipeline else f"{view.kind} session"
    outcome = {"ok": "succeeded", "failed": "failed", "unfinished": "did not finish"}[view.state]
    took = f" in {_seconds(view.duration_ms)}" if view.duration_ms is not None else ""
    code = f" (exit code {view.exit_code})" if view.exit_code not in (None, 0) else ""
    say(
        f"Session {view.id} ran {what} on the {view.adapter} adapter and {outcome}{took}{code}.",
        start.id if start else None,
        end.id if end else None,
        "environment",
    )
    if view.intent:
        say(f'The pipeline was built from this request: "{view.intent["text"]}".', "intent")
    if view.state == "unfinished":
        say(
            "There is no status.json: the run is still going or the process was killed; the"
            " steps below are what the events show.",
            start.id if start else None,
        )
    _failure(view, say)
    _steps(view, say)
    _rows(view, say)
    _parallelism(view, say)
    if delta is not None:
        _delta(delta, say)
    return out


def _failure(view: SessionView, say: Any) -> None:
    failed = view.failed_step
    if failed is not None:
        event = next(
            (e for e in view.events if e.name == "step_error" and e.step_id == failed.id), None
        )
        took = f" after {failed.duration_ms} ms" if failed.duration_ms is not None else ""
        say(
            f"The run failed at step '{failed.id}' ({failed.component or 'unknown component'})"
            f"{took}: {_end(failed.error or 'no error message was recorded')}",
            event.id if event else None,
            error_eid(failed.id),
            step_eid(failed.id),
        )
        skipped = [s for s in view.steps if s.status == "skipped"]
        if skipped:
            say(
                f"{_count(len(skipped), 'step')} did not run because of it: {_names(skipped)}.",
                *[step_eid(s.id) for s in skipped[:MAX_LISTED]],
            )
    elif view.state == "failed" and view.error:
        end = view.last_event("run_error")
        say(
            f"The run failed without a step error: {_end(view.error)}",
            end.id if end else None,
            error_eid(None),
        )


def _steps(view: SessionView, say: Any) -> None:
    if not view.steps:
        return
    counts: dict[str, int] = {}
    for step in view.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    say(f"The pipeline has {_count(len(view.steps), 'step')}: {parts}.", "totals")


def _rows(view: SessionView, say: Any) -> None:
    read = view.metric_total("rows_read")
    written = view.metric_total("rows_written")
    verified = view.metric_total("rows_verified")
    if read is None and written is None:
        return
    bits = []
    if read is not None:
        bits.append(f"extractors read {read:,} rows")
    if written is not None:
        bits.append(f"writers wrote {written:,} rows")
    if verified is not None:
        bits.append(f"{verified:,} rows were verified in the targets")
    say(_capital("; ".join(bits)) + ".", "totals")
    writers = [s for s in view.steps if s.rows_written is not None]
    if writers:
        listed = "; ".join(
            f"'{s.id}' {s.rows_written:,}"
            + (f" ({s.rows_verified:,} verified)" if s.rows_verified is not None else "")
            for s in writers[:MAX_LISTED]
        )
        more = f"; and {len(writers) - MAX_LISTED} more" if len(writers) > MAX_LISTED else ""
        say(
            f"Rows written per writer: {listed}{more}.",
            *[f"metric:rows_written:{s.id}" for s in writers[:MAX_LISTED]],
        )


def _parallelism(view: SessionView, say: Any) -> None:
    from osiris.report.model import parse_ts

    origin = parse_ts(view.started_at)
    if origin is None:
        return
    rows = spans(view.steps, origin)
    if len(rows) < 2:
        return
    most = max_parallel([(s, e) for _, s, e in rows])
    if most > 1:
        say(
            f"Up to {most} steps overlapped in time, from start to completion (independent"
            " branches run in parallel; a streamed producer completes when its consumer has read"
            " everything).",
            *[step_eid(step.id) for step, _, _ in rows[:MAX_LISTED]],
        )


def _delta(delta: dict[str, Any], say: Any) -> None:
    if delta.get("first_run"):
        say("This is the first run of this compiled pipeline in these logs.", "delta")
        return
    bits = [f"Compared with the previous run {delta['previous_session']}"]
    if delta["status_before"] != delta["status_now"]:
        bits.append(f"the status went from {delta['status_before']} to {delta['status_now']}")
    else:
        bits.append(f"the status is unchanged ({delta['status_now']})")
    change = delta.get("duration_change_ms")
    if change is not None:
        direction = "longer" if change > 0 else "shorter"
        bits.append(
            f"it took {_seconds(abs(change))} {direction}"
            f" ({_seconds(delta['duration_ms_before'])} then, {_seconds(delta['duration_ms_now'])}"
            " now)"
            if change
            else "the duration is the same"
        )
    changed = delta.get("steps_changed") or []
    if changed:
        named = "; ".join(
            f"'{c['step_id']}' {_rows_text(c['rows_before'])} → {_rows_text(c['rows_now'])}"
            for c in changed[:MAX_LISTED]
        )
        more = f" and {len(changed) - MAX_LISTED} more" if len(changed) > MAX_LISTED else ""
        bits.append(f"rows or status changed in {named}{more}")
    else:
        bits.append("every step has the same rows and status")
    say(bits[0] + ": " + ", ".join(bits[1:]) + ".", "delta")


def _rows_text(rows: Any) -> str:
    return f"{rows:,}" if isinstance(rows, int) else "-"


def _names(steps: list[Any]) -> str:
    names = ", ".join(f"'{s.id}'" for s in steps[:MAX_LISTED])
    return names + (f" and {len(steps) - MAX_LISTED} more" if len(steps) > MAX_LISTED else "")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _seconds(ms: Any) -> str:
    return f"{ms / 1000:.2f} s" if isinstance(ms, int | float) else "an unknown time"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _end(text: str) -> str:
    """A quoted error ends the sentence: give it a full stop unless it has its own."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."
