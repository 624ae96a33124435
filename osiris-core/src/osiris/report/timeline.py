"""The Gantt chart of a run: one bar per step from its ``step_start`` to its end event.

Bars that overlap in time ran in parallel; the chart also states the most steps that ran at
once. Times are the events' timestamps (milliseconds), measured from the session's first event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from osiris.report.model import StepView, parse_ts

LABEL_W = 230
CHART_W = 720
ROW_H = 22
BAR_H = 14
AXIS_H = 26
MIN_BAR = 2.0


def spans(steps: Sequence[StepView], origin: datetime) -> list[tuple[StepView, int, int]]:
    """(step, start ms, end ms) for every step that started, in start order."""
    out = []
    for step in steps:
        start = parse_ts(step.started_at)
        if start is None:
            continue
        end = parse_ts(step.finished_at) or start
        out.append((step, _ms(start, origin), max(_ms(end, origin), _ms(start, origin))))
    out.sort(key=lambda item: (item[1], item[2]))
    return out


def max_parallel(intervals: Sequence[tuple[int, int]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = current = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best


def render_svg(steps: Sequence[StepView], origin_ts: str | None, end_ts: str | None) -> str:
    """The chart as an ``<svg>``; empty string when no step started."""
    origin = parse_ts(origin_ts)
    if origin is None:
        return ""
    rows = spans(steps, origin)
    if not rows:
        return ""
    end = parse_ts(end_ts)
    total = max([_ms(end, origin) if end else 0, *(e for _, _, e in rows), 1])
    scale = CHART_W / total
    height = AXIS_H + len(rows) * ROW_H + 8
    width = LABEL_W + CHART_W + 20
    parts = [
        f'<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        ' aria-label="Timeline of the steps">'
    ]
    for tick_ms in _ticks(total):
        x = LABEL_W + tick_ms * scale
        parts.append(
            f'<line class="gantt-grid" x1="{x:.1f}" y1="{AXIS_H - 6}" x2="{x:.1f}"'
            f' y2="{height - 4}"/><text class="gantt-tick" x="{x:.1f}" y="{AXIS_H - 10}">'
            f"{escape(_label(tick_ms))}</text>"
        )
    for index, (step, start, stop) in enumerate(rows):
        y = AXIS_H + index * ROW_H
        x = LABEL_W + start * scale
        w = max((stop - start) * scale, MIN_BAR)
        tip = f"{step.id}: {step.status}, {_label(start)} → {_label(stop)} ({stop - start} ms)"
        parts.append(
            f'<g class="gantt-row status-{escape(step.status)}"><title>{escape(tip)}</title>'
            f'<text class="gantt-label" x="{LABEL_W - 8}" y="{y + BAR_H}">'
            f"{escape(_clip(step.id))}</text>"
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{BAR_H}" rx="3"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ms(moment: datetime, origin: datetime) -> int:
    return round((moment - origin).total_seconds() * 1000)


def _ticks(total: int) -> list[int]:
    """About six round tick positions (1, 2 or 5 times a power of ten milliseconds)."""
    raw = total / 6
    step = 1
    while step * 10 <= raw:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= raw:
            step *= factor
            break
    return list(range(0, total + 1, max(step, 1)))


def _label(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
