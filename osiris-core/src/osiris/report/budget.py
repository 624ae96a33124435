"""Cutting an AIOP to ``max_core_bytes``, deterministically, saying what was cut.

Order of sacrifice: driver events in the middle of the timeline, then the other run, adapter
and step events, then the OML text. Events that the narrative, the run or an error cites, the
run's first and last events and every ``step_error`` are never cut. Within each group the
first half and the last half of the kept budget survive (the start and the end of a run are
where an LLM looks first). The full streams are always in the annex.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from osiris.report.aiop import cited_ids, compact, dumps, is_key_event, layout_list_bytes

ALWAYS_KEPT = ("run_start", "run_complete", "run_error", "step_error")
TIMELINE_LEVEL = 2
"""Nesting of ``evidence.timeline`` in the document (root 0, ``evidence`` 1)."""
TEXT_MARKER = "\n# ... truncated by the AIOP size limit: {n} more characters (see oml.yaml)\n"


def fit_to_budget(doc: dict[str, Any], limit: int) -> tuple[dict[str, Any], str]:
    """``doc`` (or a cut copy) and its serialised text, at most ``limit`` bytes when possible."""
    text = dumps(doc)
    if _size(text) <= limit:
        return doc, text
    timeline = doc["evidence"]["timeline"]
    cited = cited_ids(doc)
    must, key, rest = [], [], []
    for index, item in enumerate(timeline):
        if item["id"] in cited or item.get("event") in ALWAYS_KEPT:
            must.append(index)
        elif is_key_event(item):
            key.append(index)
        else:
            rest.append(index)

    line_bytes = [_size(compact(item)) for item in timeline]

    def attempt(k_key: int, k_rest: int, oml_chars: int | None = None) -> tuple[dict, list[int]]:
        """The cut document (timeline left empty) and the timeline indices it keeps."""
        kept = sorted([*must, *_ends(key, k_key), *_ends(rest, k_rest)])
        cut = copy.copy(doc)
        cut["evidence"] = {**doc["evidence"], "timeline": []}
        sections = [
            {
                "section": "evidence.timeline",
                "total": len(timeline),
                "kept": len(kept),
                "dropped": len(timeline) - len(kept),
                "rule": (
                    "kept the run's first and last events, every step_error and every cited"
                    " event; then the first and last of the other run/adapter/step events"
                    f" ({min(k_key, len(key))} of {len(key)}) and of the driver events"
                    f" ({min(k_rest, len(rest))} of {len(rest)})"
                ),
                "full": "evidence ids not in the timeline are in the events annex",
            }
        ]
        oml = doc["semantic"].get("oml")
        if oml_chars is not None and oml and len(oml) > oml_chars:
            cut["semantic"] = {
                **doc["semantic"],
                "oml": oml[:oml_chars] + TEXT_MARKER.format(n=len(oml) - oml_chars),
            }
            sections.append(
                {
                    "section": "semantic.oml",
                    "total": len(oml),
                    "kept": oml_chars,
                    "dropped": len(oml) - oml_chars,
                    "rule": "kept the first characters of the OML text",
                    "full": "oml.yaml in the session",
                }
            )
        meta = copy.deepcopy(doc["metadata"])
        meta["truncation"] = {"applied": True, "sections": sections}
        cut["metadata"] = meta
        return cut, kept

    def fits(k_key: int, k_rest: int, oml_chars: int | None = None) -> bool:
        """Measured without serialising the timeline: its rows' sizes are known."""
        cut, kept = attempt(k_key, k_rest, oml_chars)
        empty = _size(dumps(cut))
        rows = layout_list_bytes([line_bytes[i] for i in kept], TIMELINE_LEVEL)
        return empty - len("[]") + rows <= limit

    def final(k_key: int, k_rest: int, oml_chars: int | None = None) -> tuple[dict, str]:
        cut, kept = attempt(k_key, k_rest, oml_chars)
        cut["evidence"]["timeline"] = [timeline[i] for i in kept]
        return cut, dumps(cut)

    if fits(len(key), 0):
        k = _largest(len(rest), lambda k: fits(len(key), k))
        return final(len(key), k)
    if fits(0, 0):
        k = _largest(len(key), lambda k: fits(k, 0))
        return final(k, 0)
    oml = doc["semantic"].get("oml") or ""
    if oml and fits(0, 0, 0):
        n = _largest(len(oml), lambda n: fits(0, 0, n))
        return final(0, 0, n)
    cut, _ = final(0, 0, 0 if oml else None)
    cut["metadata"]["truncation"]["over_budget"] = True  # too many steps to fit: say so
    return cut, dumps(cut)


def _ends(indices: list[int], k: int) -> list[int]:
    """The first ceil(k/2) and the last floor(k/2) of ``indices``."""
    k = max(0, min(k, len(indices)))
    head = (k + 1) // 2
    return indices[:head] + indices[len(indices) - (k - head) :]


def _largest(upper: int, ok: Callable[[int], bool]) -> int:
    """The largest n in [0, upper] with ok(n), given ok(0) and monotone ok."""
    low, high = 0, upper
    while low < high:
        mid = (low + high + 1) // 2
        if ok(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
