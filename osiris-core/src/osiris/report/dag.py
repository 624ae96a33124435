"""The pipeline graph laid out in Python and drawn as inline SVG (no Mermaid, no CDN).

Layered layout, left to right: a step's column is the length of the longest path to it, so
every edge points right; within a column, steps are ordered by the mean position of their
inputs (two sweeps, ties by manifest order), which keeps edges short and the result
deterministic. Each node is coloured by its step's status and links to its row in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from osiris.report.model import StepView

NODE_H = 44
COL_GAP = 70
ROW_GAP = 18
PAD = 12
CHAR_W = 7.2
"""Approximate width of one character of the 12px monospace label, for sizing boxes."""
MAX_LABEL = 34


@dataclass(frozen=True)
class Placed:
    step: StepView
    x: float
    y: float
    w: float


def layout(steps: Sequence[StepView]) -> tuple[list[Placed], float, float]:
    """Positions of every step and the drawing's width and height."""
    known = {s.id for s in steps}
    order = {s.id: i for i, s in enumerate(steps)}
    column: dict[str, int] = {}
    for step in steps:  # manifest order is topological: needs come first
        column[step.id] = 1 + max((column[n] for n in step.needs if n in column), default=-1)
    columns: dict[int, list[StepView]] = {}
    for step in steps:
        columns.setdefault(column[step.id], []).append(step)
    rank = {s.id: i for col in columns.values() for i, s in enumerate(col)}
    for _ in range(2):
        for index in sorted(columns):
            col = columns[index]

            def mean_input(s: StepView) -> tuple[float, int]:
                inputs = [rank[n] for n in s.needs if n in known]
                return (sum(inputs) / len(inputs) if inputs else rank[s.id], order[s.id])

            col.sort(key=mean_input)
            rank.update({s.id: i for i, s in enumerate(col)})
    width_of = {index: max(_box_width(s) for s in col) for index, col in columns.items()}
    tallest = max((len(c) for c in columns.values()), default=0)
    height = PAD * 2 + tallest * NODE_H + max(tallest - 1, 0) * ROW_GAP
    placed: list[Placed] = []
    x = PAD
    for index in sorted(columns):
        col = columns[index]
        block = len(col) * NODE_H + (len(col) - 1) * ROW_GAP
        y = (height - block) / 2
        for step in col:
            placed.append(Placed(step, x, y, width_of[index]))
            y += NODE_H + ROW_GAP
        x += width_of[index] + COL_GAP
    width = x - COL_GAP + PAD if columns else PAD * 2
    placed.sort(key=lambda p: order[p.step.id])
    return placed, width, height


def render_svg(steps: Sequence[StepView]) -> str:
    """The DAG as an ``<svg>`` element; empty string for a session without steps."""
    if not steps:
        return ""
    placed, width, height = layout(steps)
    at = {p.step.id: p for p in placed}
    parts = [
        f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}"'
        f' height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        ' aria-label="Pipeline graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"'
        ' class="dag-arrow"/></marker></defs>',
    ]
    for node in placed:
        for need in node.step.needs:
            source = at.get(need)
            if source is None:
                continue
            x1, y1 = source.x + source.w, source.y + NODE_H / 2
            x2, y2 = node.x, node.y + NODE_H / 2
            bend = (x2 - x1) / 2
            parts.append(
                f'<path class="dag-edge edge-{escape(source.step.status)}"'
                f' d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f}'
                f' {x2 - 1:.1f},{y2:.1f}" marker-end="url(#arrow)"/>'
            )
    for node in placed:
        step = node.step
        rows = f" · {step.rows_out:,} rows" if step.rows_out is not None else ""
        tip = f"{step.id} ({step.component or '?'}): {step.status}{rows}"
        if step.error:
            tip += f" — {step.error}"
        parts.append(
            f'<a href="#step-{escape(step.id)}" class="dag-node status-{escape(step.status)}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" height="{NODE_H}"'
            ' rx="6"/>'
            f'<text x="{node.x + 10:.1f}" y="{node.y + 18:.1f}" class="dag-id">'
            f"{escape(_clip(step.id))}</text>"
            f'<text x="{node.x + 10:.1f}" y="{node.y + 34:.1f}" class="dag-sub">'
            f"{escape(_clip(_subtitle(step)))}</text></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _subtitle(step: StepView) -> str:
    rows = f" · {step.rows_out:,}" if step.rows_out is not None else ""
    return f"{step.component or '?'}{rows}"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _box_width(step: StepView) -> float:
    longest = max(len(_clip(step.id)), len(_clip(_subtitle(step))))
    return max(120.0, longest * CHAR_W + 20)
