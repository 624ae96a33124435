"""Self-contained HTML pages: the page shell and the page of one session (``index`` lists them).

Every page carries its CSS and JS inline and loads nothing: no CDN, font or image from the
network, so it opens from a USB stick on a plane. The graph and the timeline are SVG computed
in Python; only the events table is drawn by script (from a JSON block in the page) so a
10,000-event session stays small and fast. All text from the session is HTML-escaped, and the
session's files were masked when written.
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources

from osiris import __version__
from osiris.report import chat, sections
from osiris.report.fmt import seconds, when
from osiris.report.model import SessionView


@cache
def _asset(name: str) -> str:
    return (resources.files("osiris.report") / "assets" / name).read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    """A complete document with the inline stylesheet and script."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="osiris {escape(__version__)}">'
        f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head>"
        f"<body>{body}"
        f"<footer>Osiris {escape(__version__)} · offline report · press <kbd>/</kbd> to"
        " search, <kbd>i</kbd> for the index</footer>"
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )


# -- one session ---------------------------------------------------------------------------------
def render_session(view: SessionView, *, index_href: str | None = "index.html") -> str:
    """The page of one session: a run's full report, or what a chat/compile/other session holds."""
    is_run = view.kind == "run" or bool((view.status or {}).get("steps"))
    parts = []
    if view.state == "failed":
        parts.append(_failure(view))
    if view.kind == "compile":
        parts += [sections.plan(view), sections.dag_section(view) if view.steps else ""]
    if is_run:
        parts += [
            sections.summary(view),
            sections.steps_table(view),
            sections.timeline_section(view),
            sections.dag_section(view),
            sections.environment(view),
            sections.metrics(view),
        ]
    conversation = chat.conversation(view)
    if conversation:
        parts.append(conversation)
    discovery = chat.discovery(view)
    if discovery:
        parts.append(discovery)
    if not is_run and view.metrics:
        parts.append(sections.metrics(view))
    parts += [
        sections.events(view),
        sections.artifacts(view),
        sections.pipeline(view),
        sections.files(view),
    ]
    title = f"{view.pipeline or view.kind} · {view.id}"
    body = _header(view, is_run, index_href) + "<main>" + "".join(p for p in parts if p) + "</main>"
    return page(title, body)


def label(view: SessionView) -> str:
    """The status badge: a chat or other session without status.json is open, not broken."""
    if view.state == "unfinished" and view.kind != "run":
        return "open"
    return {"ok": "succeeded", "failed": "failed", "unfinished": "unfinished"}[view.state]


def _header(view: SessionView, is_run: bool, index_href: str | None) -> str:
    state = label(view)
    name = view.pipeline or f"{view.kind.capitalize()} session"
    links = ["summary", "steps", "timeline", "dag", "metrics"] if is_run else []
    links += ["plan", "dag"] if view.kind == "compile" else []
    links += ["events", "artifacts", "pipeline", "files"]
    nav = " ".join(f'<a href="#{s}">{s}</a>' for s in links)
    if index_href:
        nav = f'<a id="index-link" href="{escape(index_href)}">← All sessions</a> {nav}'

    facts = [f"session <b class='mono'>{escape(view.id)}</b>"]
    if view.started_at:
        facts.append(f"started <b>{escape(when(view.started_at))}</b>")
    if view.duration_ms is not None:
        facts.append(f"duration <b>{seconds(view.duration_ms)}</b>")
    if view.exit_code is not None:
        facts.append(f"exit code <b>{view.exit_code}</b>")
    if view.steps:
        facts.append(f"<b>{len(view.steps)}</b> steps")
    env = (
        f'<span class="badge env {escape(view.adapter)}" title="execution adapter">'
        f"{escape(view.adapter)}</span>"
        if is_run
        else ""
    )
    return (
        '<header class="top"><div class="inner">'
        f'<nav class="sections">{nav}</nav>'
        f"<h1><span>{escape(name)}</span>"
        f'<span class="badge {state}" id="run-status">{state}</span>{env}'
        f'<span class="badge kind">{escape(view.kind)}</span></h1>'
        f'<div class="facts">{"".join(f"<span>{f}</span>" for f in facts)}</div>'
        "</div></header>"
    )


def _failure(view: SessionView) -> str:
    step = view.failed_step
    if step is None:
        return (
            '<section class="failure" id="failure"><h2>The run failed; no step reported an error</h2>'
            f'<div class="msg">{escape(view.error or "no error recorded")}</div></section>'
        )
    skipped = [s.id for s in view.steps if s.status == "skipped"]
    after = (
        f"<p class='muted'>Skipped because of it: {escape(', '.join(skipped))}</p>"
        if skipped
        else ""
    )
    return (
        '<section class="failure" id="failure">'
        f'<h2>Failed at step <a href="#step-{escape(step.id)}" id="failed-step">'
        f"{escape(step.id)}</a>"
        f' <span class="muted">({escape(step.component or "?")})</span></h2>'
        f'<div class="msg">{escape(step.error or view.error or "")}</div>{after}'
        f'<p><a href="#events" data-step-events="{escape(step.id)}">Show this step\'s events</a>'
        "</p></section>"
    )
