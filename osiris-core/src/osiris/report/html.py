"""Self-contained HTML pages: one per session and an index of sessions.

Every page carries its CSS and JS inline and loads nothing: no CDN, font or image from the
network, so it opens from a USB stick on a plane. The graph and the timeline are SVG computed
in Python; only the events table is drawn by script (from a JSON block in the page) so a
10,000-event session stays small and fast. All text from the session is HTML-escaped, and the
session's files were masked when written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from osiris import __version__
from osiris.report import dag, timeline
from osiris.report.model import Record, SessionView, parse_ts
from osiris.report.narrative import sentences

FIELD_TEXT_LIMIT = 2000
"""Characters of one event's fields shown in the events table (the session has them all)."""
CONVERSATION_PREFIXES = ("chat_", "llm_", "tool_", "mcp_")
TEXT_FIELDS = ("content", "text", "message", "reply", "prompt", "question")


@cache
def _asset(name: str) -> str:
    return (resources.files("osiris.report") / "assets" / name).read_text(encoding="utf-8")


def page(title: str, body: str, *, index_href: str | None = "index.html") -> str:
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
    is_run = bool(view.steps) or view.kind == "run"
    parts = []
    if view.state == "failed":
        parts.append(_failure(view))
    if is_run:
        parts += [
            _summary(view),
            _steps_table(view),
            _timeline(view),
            _dag(view),
            _environment(view),
            _metrics(view),
        ]
    conversation = _conversation(view)
    if conversation:
        parts.append(conversation)
    discovery = _discovery(view)
    if discovery:
        parts.append(discovery)
    if not is_run and view.metrics:
        parts.append(_metrics(view))
    parts += [_events(view), _artifacts(view), _pipeline(view), _files(view)]
    title = f"{view.pipeline or view.kind} · {view.id}"
    body = _header(view, is_run, index_href) + "<main>" + "".join(p for p in parts if p) + "</main>"
    return page(title, body, index_href=index_href)


def _label(view: SessionView) -> str:
    """The status badge: a chat or other session without status.json is open, not broken."""
    if view.state == "unfinished" and view.kind != "run":
        return "open"
    return {"ok": "succeeded", "failed": "failed", "unfinished": "unfinished"}[view.state]


def _header(view: SessionView, is_run: bool, index_href: str | None) -> str:
    state = _label(view)
    name = view.pipeline or f"{view.kind.capitalize()} session"
    links = ["summary", "steps", "timeline", "dag", "metrics"] if is_run else []
    links += ["events", "artifacts", "pipeline", "files"]
    nav = " ".join(f'<a href="#{s}">{s}</a>' for s in links)
    if index_href:
        nav = f'<a id="index-link" href="{escape(index_href)}">← All sessions</a> {nav}'

    facts = [f"session <b class='mono'>{escape(view.id)}</b>"]
    if view.started_at:
        facts.append(f"started <b>{escape(_when(view.started_at))}</b>")
    if view.duration_ms is not None:
        facts.append(f"duration <b>{_seconds(view.duration_ms)}</b>")
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
            '<section class="failure" id="failure"><h2>The run failed before any step ran</h2>'
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


def _summary(view: SessionView) -> str:
    story = sentences(view, None)
    text = "".join(
        f"<p>{escape(s['text'])} <span class='cite'>[{escape(', '.join(s['cites']))}]</span></p>"
        for s in story
    )
    cards = []
    for status in ("succeeded", "failed", "skipped"):
        n = sum(1 for s in view.steps if s.status == status)
        cards.append((f"{n}", f"steps {status}"))
    for name, label in (
        ("rows_read", "rows read"),
        ("rows_written", "rows written"),
        ("rows_verified", "rows verified"),
    ):
        total = view.metric_total(name)
        if total is not None:
            cards.append((f"{total:,}", label))
    origin = parse_ts(view.started_at)
    if origin is not None:
        runs = timeline.spans(view.steps, origin)
        if runs:
            cards.append((str(timeline.max_parallel([(a, b) for _, a, b in runs])), "max overlapping"))
    if view.duration_ms is not None:
        cards.append((_seconds(view.duration_ms), "wall time"))
    cards_html = "".join(
        f'<div class="card"><div class="n">{escape(n)}</div><div class="l">{escape(label)}</div>'
        "</div>"
        for n, label in cards
    )
    return (
        f'<section id="summary"><h2>Summary</h2><div class="narrative">{text}</div>'
        f'<div class="cards">{cards_html}</div></section>'
    )


def _steps_table(view: SessionView) -> str:
    verified = any(s.rows_verified is not None for s in view.steps)
    head = (
        "<tr><th>step</th><th>component</th><th>mode</th><th>status</th>"
        '<th class="num">rows in</th><th class="num">rows out</th>'
        + ('<th class="num">verified</th>' if verified else "")
        + '<th class="num">duration</th><th>error</th></tr>'
    )
    rows = []
    for s in view.steps:
        error_cls = "err" if s.status == "failed" else "reason"
        rows.append(
            f'<tr id="step-{escape(s.id)}" class="{escape(s.status)}" data-step="{escape(s.id)}">'
            f'<td class="mono"><a href="#events" data-step-events="{escape(s.id)}"'
            f' title="show its events">{escape(s.id)}</a></td>'
            f'<td class="mono">{escape(s.component or "")}</td><td>{escape(s.mode or "")}</td>'
            f'<td><span class="badge {escape(s.status)}">{escape(s.status)}</span></td>'
            f'<td class="num">{_n(s.rows_in)}</td><td class="num rows-out">{_n(s.rows_out)}</td>'
            + (f'<td class="num">{_n(s.rows_verified)}</td>' if verified else "")
            + f'<td class="num">{_ms(s.duration_ms)}</td>'
            f'<td class="{error_cls}">{escape(s.error or "")}</td></tr>'
        )
    return (
        '<section id="steps"><h2>Steps</h2><div class="scroll"><table id="steps-table">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _timeline(view: SessionView) -> str:
    svg = timeline.render_svg(view.steps, view.started_at, view.finished_at)
    if not svg:
        return '<section id="timeline"><h2>Timeline</h2><p class="muted">No step started.</p></section>'
    return (
        '<section id="timeline"><h2>Timeline</h2><p class="muted">Each bar runs from the step\'s'
        " start to its end; bars that overlap ran in parallel (a streamed producer ends when"
        f' its consumer has read everything).</p><div class="scroll">{svg}</div>'
        f"{_legend()}</section>"
    )


def _dag(view: SessionView) -> str:
    svg = dag.render_svg(view.steps)
    if not svg:
        return ""
    return (
        '<section id="dag"><h2>Pipeline graph</h2>'
        f'<div class="scroll">{svg}</div>{_legend()}</section>'
    )


def _legend() -> str:
    items = ("succeeded", "failed", "skipped", "running")
    return (
        '<div class="legend">'
        + "".join(f'<span><i class="{s}"></i>{s}</span>' for s in items)
        + "</div>"
    )


def _environment(view: SessionView) -> str:
    selected = view.first_event("adapter_selected")
    rows = [("adapter", view.adapter)]
    if selected is not None:
        rows += [
            ("provided by", selected.data.get("distribution") or "-"),
            ("max workers", selected.data.get("max_workers")),
        ]
    details = "".join(
        f"<tr><td class='mono'>{escape(r.name)}</td><td class='f mono'>"
        f"{escape(_fields_text(r))}</td></tr>"
        for r in view.environment
    )
    table = "".join(
        f"<tr><th>{escape(k)}</th><td class='mono'>{escape(str(v))}</td></tr>" for k, v in rows
    )
    extra = f"<h2 style='margin-top:12px'>Sandbox</h2><table>{details}</table>" if details else ""
    return (
        f'<section id="environment"><h2>Environment</h2><table class="kv">{table}</table>'
        f"{extra}</section>"
    )


def _metrics(view: SessionView) -> str:
    """One row per step, one column per metric (summed: drivers report per batch)."""
    names: dict[str, str] = {}
    cells: dict[tuple[str, str], list[Any]] = {}
    for m in view.metrics:
        names.setdefault(m.name, str(m.data.get("unit") or ""))
        cells.setdefault((m.step_id or "", m.name), []).append(m.data.get("value"))
    if not names:
        return '<section id="metrics"><h2>Metrics</h2><p class="muted">No metrics.</p></section>'
    columns = sorted(names)
    order = [s.id for s in view.steps]
    order += sorted({step for step, _ in cells if step and step not in order})
    if any(step == "" for step, _ in cells):
        order.append("")
    head = "".join(
        f'<th class="num">{escape(n)}<br><span class="muted">{escape(names[n])}</span></th>'
        for n in columns
    )
    rows = []
    for step in order:
        values = []
        for name in columns:
            found = cells.get((step, name))
            numbers = [
                v for v in found or [] if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            lines = f" title='{len(found)} line(s)'" if found else ""
            values.append(
                f"<td class='num' data-metric='{escape(name)}'{lines}>"
                f"{_n(sum(numbers)) if numbers else ''}</td>"
            )
        label = escape(step) if step else "<span class='muted'>(run)</span>"
        rows.append(f"<tr><td class='mono'>{label}</td>{''.join(values)}</tr>")
    return (
        '<section id="metrics"><h2>Metrics</h2><div class="scroll"><table id="metrics-table">'
        f"<thead><tr><th>step</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div></section>"
    )


def _events(view: SessionView) -> str:
    origin = parse_ts(view.started_at)
    packed = []
    for r in view.events:
        moment = parse_ts(r.data.get("ts"))
        offset = round((moment - origin).total_seconds() * 1000) if moment and origin else None
        packed.append([r.n, offset, r.name, r.step_id, _fields_text(r)])
    blob = json.dumps(packed, ensure_ascii=False, separators=(",", ":"))
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        '<section id="events"><h2>Events</h2><div class="filters">'
        '<label>step <select id="ev-step"><option value="">all</option></select></label>'
        '<label>event <select id="ev-type"><option value="">all</option></select></label>'
        '<input id="ev-search" type="search" placeholder="search fields (press /)">'
        '<span id="ev-count" class="muted"></span></div>'
        '<noscript><p class="muted">The events table needs JavaScript; the session\'s'
        " events.jsonl has every event.</p></noscript>"
        '<div class="scroll"><table id="events-table"><thead><tr><th>id</th>'
        '<th class="num">time</th><th>event</th><th>step</th><th>fields</th></tr></thead>'
        '<tbody></tbody></table></div><p><button id="ev-more" hidden>more</button></p>'
        f'<script type="application/json" id="events-data">{blob}</script></section>'
    )


def _artifacts(view: SessionView) -> str:
    if not view.artifacts:
        return (
            '<section id="artifacts"><h2>Artifacts</h2><p class="muted">No artifacts.</p></section>'
        )
    rows = "".join(
        f"<tr><td class='mono'>{escape(a.path)}</td><td class='num'>{_bytes(a.bytes)}</td>"
        f"<td class='mono muted' title='{escape(a.sha256 or '')}'>"
        f"{escape((a.sha256 or 'not hashed (large)')[:19])}</td></tr>"
        for a in view.artifacts
    )
    return (
        '<section id="artifacts"><h2>Artifacts</h2><table><thead><tr><th>file</th>'
        f'<th class="num">size</th><th>sha256</th></tr></thead><tbody>{rows}</tbody></table>'
        "</section>"
    )


def _pipeline(view: SessionView) -> str:
    fps = view.fingerprints
    if not (fps or view.oml_text or view.manifest_text):
        return ""
    fp_rows = "".join(
        f"<tr><th>{escape(k)}</th><td class='mono'>{escape(v)}</td></tr>" for k, v in fps.items()
    )
    blocks = []
    if view.oml_text:
        blocks.append(_pre("OML (oml.yaml)", view.oml_text, open_=True))
    if view.manifest_text:
        blocks.append(_pre("Compiled manifest (manifest.yaml)", view.manifest_text))
    for step in view.steps:
        if step.config is not None:
            blocks.append(
                _pre(f"cfg/{step.id}.json", json.dumps(step.config, indent=2, ensure_ascii=False))
            )
    return (
        '<section id="pipeline"><h2>Pipeline</h2>'
        + (f"<table id='fingerprints' class='kv'>{fp_rows}</table>" if fp_rows else "")
        + "".join(blocks)
        + "</section>"
    )


def _files(view: SessionView) -> str:
    files = sorted(p for p in view.dir.rglob("*") if p.is_file())
    rows = "".join(
        f"<tr><td class='mono'>{escape(p.relative_to(view.dir).as_posix())}</td>"
        f"<td class='num'>{_bytes(p.stat().st_size)}</td></tr>"
        for p in files[:500]
    )
    more = f"<p class='muted'>and {len(files) - 500} more files</p>" if len(files) > 500 else ""
    return (
        '<section id="files"><h2>Session files</h2><p class="muted mono">'
        f"{escape(str(view.dir))}</p><table>{rows}</table>{more}</section>"
    )


def _conversation(view: SessionView) -> str:
    """A chat's messages, model calls, tool calls and proposed pipelines, in order."""
    records = [r for r in view.events if r.name.startswith(CONVERSATION_PREFIXES) or _oml_of(r)]
    if not records:
        return ""
    items = []
    for r in records:
        role = str(r.data.get("role") or "")
        body = next((r.data[k] for k in TEXT_FIELDS if isinstance(r.data.get(k), str)), None)
        oml = _oml_of(r)
        if r.name == "chat_state":
            cls, who = "meta", "state"
            body = f"{r.data.get('from', '?')} → {r.data.get('to', '?')}"
        elif role in ("user", "assistant", "system"):
            cls, who = ("user" if role == "user" else "assistant"), role
        elif r.name.startswith("tool_") or "tool" in r.data:
            cls, who = "tool", f"tool · {r.data.get('tool') or r.data.get('name') or r.name}"
        elif r.name.startswith("llm_"):
            cls, who = "meta", r.name
        else:
            cls, who = "assistant", r.name
        skip = {"ts", "session", "event", "role", "from", "to", "oml", *TEXT_FIELDS}
        extra = {k: v for k, v in r.data.items() if k not in skip}
        items.append(
            f'<div class="msg-b {cls}"><div class="who">{escape(who)} ·'
            f" <span class='mono'>ev:{r.n}</span></div>"
            + (f'<div class="body">{escape(body)}</div>' if body else "")
            + (f'<div class="mono muted">{escape(_compact(extra))}</div>' if extra else "")
            + (_pre("Proposed pipeline", oml, open_=True) if oml else "")
            + "</div>"
        )
    return (
        '<section id="conversation"><h2>Conversation</h2>'
        f'<div class="conv">{"".join(items)}</div></section>'
    )


def _discovery(view: SessionView) -> str:
    records = [r for r in view.events if "discover" in r.name]
    if not records:
        return ""
    rows = "".join(
        f"<tr><td class='mono'>ev:{r.n}</td><td class='mono'>{escape(r.name)}</td>"
        f"<td class='f mono'>{escape(_fields_text(r))}</td></tr>"
        for r in records
    )
    return f'<section id="discovery"><h2>Discovery</h2><table>{rows}</table></section>'


# -- the index -----------------------------------------------------------------------------------
def render_index(entries: Iterable[dict[str, Any]]) -> str:
    """The list of sessions; ``entries`` are ``{view, href}`` (href None: no page rendered)."""
    rows = []
    for entry in entries:
        view: SessionView = entry["view"]
        state = _label(view)
        href = entry.get("href")
        name = f'<a href="{escape(href)}">{escape(view.id)}</a>' if href else escape(view.id)
        written = view.metric_total("rows_written")
        failed = view.failed_step
        rows.append(
            f"<tr><td class='mono'>{name}</td><td>{escape(view.kind)}</td>"
            f"<td>{escape(view.pipeline or '')}</td>"
            f"<td><span class='badge {state}'>{state}</span></td>"
            f"<td class='mono'>{escape(view.adapter if view.steps else '')}</td>"
            f"<td>{escape(_when(view.started_at) if view.started_at else '')}</td>"
            f"<td class='num'>{_seconds(view.duration_ms) if view.duration_ms is not None else ''}"
            f"</td><td class='num'>{len(view.steps) or ''}</td><td class='num'>{_n(written)}</td>"
            f"<td class='err'>{escape(failed.id if failed else (view.error or ''))}</td></tr>"
        )
    body = (
        '<header class="top"><div class="inner">'
        "<h1>Osiris sessions</h1><div class='facts'><span>newest first · "
        "<kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> opens, <kbd>/</kbd> filters</span>"
        "</div></div></header><main><section>"
        '<input id="session-filter" class="index-filter" type="search"'
        ' placeholder="filter sessions (press /)">'
        '<div class="scroll"><table id="sessions"><thead><tr><th>session</th><th>kind</th>'
        "<th>pipeline</th><th>status</th><th>adapter</th><th>started</th>"
        '<th class="num">duration</th><th class="num">steps</th><th class="num">rows written</th>'
        f"<th>failed at</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        "</section></main>"
    )
    return page("Osiris sessions", body, index_href=None)


# -- small helpers -------------------------------------------------------------------------------
def _pre(title: str, text: str, *, open_: bool = False) -> str:
    return (
        f"<details{' open' if open_ else ''}><summary>{escape(title)}</summary>"
        f"<pre>{escape(text)}</pre></details>"
    )


def _oml_of(record: Record) -> str | None:
    value = record.data.get("oml")
    return value if isinstance(value, str) and value.strip() else None


def _fields_text(record: Record) -> str:
    fields = {
        k: v for k, v in record.data.items() if k not in ("ts", "session", "event", "step_id")
    }
    text = _compact(fields)
    return text if len(text) <= FIELD_TEXT_LIMIT else text[:FIELD_TEXT_LIMIT] + " …"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


def _n(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.2f}"


def _ms(value: Any) -> str:
    return f"{value:,} ms" if isinstance(value, int) else ""


def _seconds(ms: Any) -> str:
    return f"{ms / 1000:.2f} s" if isinstance(ms, int | float) else ""


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _when(ts: str) -> str:
    moment = parse_ts(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ts
