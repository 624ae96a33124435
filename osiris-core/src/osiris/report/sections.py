"""The sections of a run's page: summary, steps, timeline, graph, environment, metrics, events,
artifacts, the pipeline's files and the session's files."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from osiris.report import dag, timeline
from osiris.report.fmt import fields_text, millis, number, pre, seconds, size
from osiris.report.model import SessionView, parse_ts
from osiris.report.narrative import sentences


def summary(view: SessionView) -> str:
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
            cards.append(
                (str(timeline.max_parallel([(a, b) for _, a, b in runs])), "max overlapping")
            )
    if view.duration_ms is not None:
        cards.append((seconds(view.duration_ms), "wall time"))
    cards_html = "".join(
        f'<div class="card"><div class="n">{escape(n)}</div><div class="l">{escape(label)}</div>'
        "</div>"
        for n, label in cards
    )
    return (
        f'<section id="summary"><h2>Summary</h2><div class="narrative">{text}</div>'
        f'<div class="cards">{cards_html}</div></section>'
    )


def steps_table(view: SessionView) -> str:
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
            f'<td class="num">{number(s.rows_in)}</td><td class="num rows-out">{number(s.rows_out)}</td>'
            + (f'<td class="num">{number(s.rows_verified)}</td>' if verified else "")
            + f'<td class="num">{millis(s.duration_ms)}</td>'
            f'<td class="{error_cls}">{escape(s.error or "")}</td></tr>'
        )
    return (
        '<section id="steps"><h2>Steps</h2><div class="scroll"><table id="steps-table">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def plan(view: SessionView) -> str:
    """A compile session's result: the steps in the order they will run, nothing run yet."""
    complete = view.last_event("compile_complete")
    lead = (
        f"<p>Compiled into {len(view.steps)} steps, in the order the runner starts them.</p>"
        if complete
        else "<p>Nothing was compiled; the errors are in the events below.</p>"
    )
    rows = "".join(
        f'<tr id="step-{escape(s.id)}"><td class="mono">{escape(s.id)}</td>'
        f'<td class="mono">{escape(s.component or "")}</td><td>{escape(s.mode or "")}</td>'
        f'<td class="mono">{escape(", ".join(s.needs))}</td>'
        f'<td class="mono">{escape(s.connection or "")}</td></tr>'
        for s in view.steps
    )
    table = (
        '<div class="scroll"><table id="plan-table"><thead><tr><th>step</th><th>component</th>'
        f"<th>mode</th><th>needs</th><th>connection</th></tr></thead><tbody>{rows}</tbody>"
        "</table></div>"
        if rows
        else ""
    )
    return f'<section id="plan"><h2>Plan</h2>{lead}{table}</section>'


def timeline_section(view: SessionView) -> str:
    svg = timeline.render_svg(view.steps, view.started_at, view.finished_at)
    if not svg:
        return '<section id="timeline"><h2>Timeline</h2><p class="muted">No step started.</p></section>'
    return (
        '<section id="timeline"><h2>Timeline</h2><p class="muted">Each bar runs from the step\'s'
        " start to its end; overlapping bars were open at the same time (independent branches"
        " run in parallel; a streamed producer ends when its consumer has read everything)."
        f'</p><div class="scroll">{svg}</div>'
        f"{_legend()}</section>"
    )


def dag_section(view: SessionView) -> str:
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


def environment(view: SessionView) -> str:
    selected = view.first_event("adapter_selected")
    rows = [("adapter", view.adapter)]
    if selected is not None:
        rows += [
            ("provided by", selected.data.get("distribution") or "-"),
            ("max workers", selected.data.get("max_workers")),
        ]
    details = "".join(
        f"<tr><td class='mono'>{escape(r.name)}</td><td class='f mono'>"
        f"{escape(fields_text(r))}</td></tr>"
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


def metrics(view: SessionView) -> str:
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
                f"{number(sum(numbers)) if numbers else ''}</td>"
            )
        label = escape(step) if step else "<span class='muted'>(run)</span>"
        rows.append(f"<tr><td class='mono'>{label}</td>{''.join(values)}</tr>")
    return (
        '<section id="metrics"><h2>Metrics</h2><div class="scroll"><table id="metrics-table">'
        f"<thead><tr><th>step</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div></section>"
    )


def events(view: SessionView) -> str:
    origin = parse_ts(view.started_at)
    packed = []
    for r in view.events:
        moment = parse_ts(r.data.get("ts"))
        offset = round((moment - origin).total_seconds() * 1000) if moment and origin else None
        packed.append([r.n, offset, r.name, r.step_id, fields_text(r)])
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


def artifacts(view: SessionView) -> str:
    if not view.artifacts:
        return (
            '<section id="artifacts"><h2>Artifacts</h2><p class="muted">No artifacts.</p></section>'
        )
    rows = "".join(
        f"<tr><td class='mono'>{escape(a.path)}</td><td class='num'>{size(a.bytes)}</td>"
        f"<td class='mono muted' title='{escape(a.sha256 or '')}'>"
        f"{escape((a.sha256 or 'not hashed (large)')[:19])}</td></tr>"
        for a in view.artifacts
    )
    return (
        '<section id="artifacts"><h2>Artifacts</h2><table><thead><tr><th>file</th>'
        f'<th class="num">size</th><th>sha256</th></tr></thead><tbody>{rows}</tbody></table>'
        "</section>"
    )


def pipeline(view: SessionView) -> str:
    fps = view.fingerprints
    if not (fps or view.oml_text or view.manifest_text):
        return ""
    fp_rows = "".join(
        f"<tr><th>{escape(k)}</th><td class='mono'>{escape(v)}</td></tr>" for k, v in fps.items()
    )
    blocks = []
    if view.oml_text:
        blocks.append(pre("OML (oml.yaml)", view.oml_text, open_=True))
    if view.manifest_text:
        blocks.append(pre("Compiled manifest (manifest.yaml)", view.manifest_text))
    configs = [
        pre(f"cfg/{step.id}.json", json.dumps(step.config, indent=2, ensure_ascii=False))
        for step in view.steps
        if step.config is not None
    ]
    if configs:
        blocks.append(
            f"<details><summary>Step configurations ({len(configs)} files in cfg/)</summary>"
            f'<div style="padding-left:16px">{"".join(configs)}</div></details>'
        )
    return (
        '<section id="pipeline"><h2>Pipeline</h2>'
        + (f"<table id='fingerprints' class='kv'>{fp_rows}</table>" if fp_rows else "")
        + "".join(blocks)
        + "</section>"
    )


def files(view: SessionView) -> str:
    files = sorted(p for p in view.dir.rglob("*") if p.is_file())
    rows = "".join(
        f"<tr><td class='mono'>{escape(p.relative_to(view.dir).as_posix())}</td>"
        f"<td class='num'>{size(p.stat().st_size)}</td></tr>"
        for p in files[:500]
    )
    more = f"<p class='muted'>and {len(files) - 500} more files</p>" if len(files) > 500 else ""
    return (
        '<section id="files"><h2>Session files</h2><p class="muted mono">'
        f"{escape(str(view.dir))}</p><table>{rows}</table>{more}</section>"
    )
