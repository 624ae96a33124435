"""The Gantt chart of a run: one bar per step from its ``step_start`` to its end event.

Bars that overlap were open at the same time; steps that never started are listed under the
bars. Times are the events' timestamps (milliseconds), measured from the session's first event.
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
NICE_STEPS_MS = (
    *(m * 10**e for e in range(4) for m in (1, 2, 5)),
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    14_400_000,
    28_800_000,
    86_400_000,
)


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
    started = {step.id for step, _, _ in rows}
    never = [step for step in steps if step.id not in started]
    end = parse_ts(end_ts)
    total = max([_ms(end, origin) if end else 0, *(e for _, _, e in rows), 1])
    scale = CHART_W / total
    height = AXIS_H + (len(rows) + len(never)) * ROW_H + 8
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
    for index, step in enumerate(never, len(rows)):
        y = AXIS_H + index * ROW_H
        parts.append(
            f'<g class="gantt-row status-{escape(step.status)}">'
            f'<text class="gantt-label" x="{LABEL_W - 8}" y="{y + BAR_H}">'
            f"{escape(_clip(step.id))}</text>"
            f'<text class="gantt-note" x="{LABEL_W + 6}" y="{y + BAR_H}">'
            f"{escape(step.status)}: never started</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _ms(moment: datetime, origin: datetime) -> int:
    return round((moment - origin).total_seconds() * 1000)


def _ticks(total: int) -> list[int]:
    """About six tick positions at round times (milliseconds, seconds, minutes, hours)."""
    raw = total / 6
    step = next((n for n in NICE_STEPS_MS if n >= raw), NICE_STEPS_MS[-1])
    return list(range(0, total + 1, step))


def _label(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    if ms < 120_000:
        return f"{ms / 1000:.2f} s"
    return f"{ms // 60_000} min {ms // 1000 % 60:02d} s"


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
