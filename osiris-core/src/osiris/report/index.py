"""The index page: every session of a logs directory, newest first, with keyboard navigation."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from osiris.report.fmt import number, seconds, when
from osiris.report.html import label, page
from osiris.report.model import SessionView


def render_index(entries: Iterable[dict[str, Any]]) -> str:
    """The list of sessions; ``entries`` are ``{view, href}`` (href None: no page rendered)."""
    rows = []
    for entry in entries:
        view: SessionView = entry["view"]
        state = label(view)
        href = entry.get("href")
        name = f'<a href="{escape(href)}">{escape(view.id)}</a>' if href else escape(view.id)
        written = view.metric_total("rows_written")
        failed = view.failed_step
        rows.append(
            f"<tr><td class='mono'>{name}</td><td>{escape(view.kind)}</td>"
            f"<td>{escape(view.pipeline or '')}</td>"
            f"<td><span class='badge {state}'>{state}</span></td>"
            f"<td class='mono'>{escape(view.adapter if view.steps else '')}</td>"
            f"<td>{escape(when(view.started_at) if view.started_at else '')}</td>"
            f"<td class='num'>{seconds(view.duration_ms) if view.duration_ms is not None else ''}"
            f"</td><td class='num'>{len(view.steps) or ''}</td><td class='num'>{number(written)}</td>"
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
    return page("Osiris sessions", body)
