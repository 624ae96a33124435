"""The top-level clauses of a user's SELECT, for wrapping it in a derived table without change.

Wrapping (``SELECT … FROM (query) AS q``) is how the extractor reads FLOAT columns as exact
doubles and adds an incremental cursor filter. MariaDB ignores an ORDER BY inside a derived table,
so the query's own top-level ORDER BY is carried to the outer query, translated to the output
column names; a top-level LIMIT stays inside (it picks the same rows). Literals and comments are
blanked first (``osiris.sqlguard.blank_literals``) so nothing inside them counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ENDS_ORDER = {"LIMIT", "OFFSET", "FETCH", "FOR", "LOCK", "INTO", "PROCEDURE"}
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_$]+$")
_QUOTED_NAME = re.compile(r"^`((?:[^`]|``)+)`$")


class Untranslatable(ValueError):
    """The query's ORDER BY cannot be expressed over its output columns (the reason is the text)."""


@dataclass(frozen=True)
class Shape:
    order_by: list[tuple[str, str]] | None
    """Top-level ORDER BY terms as (raw expression text, direction ``ASC``/``DESC``)."""
    has_limit: bool


def shape_of(query: str) -> Shape:
    """The top-level ORDER BY terms and whether a top-level LIMIT/OFFSET/FETCH is present.

    Raises ``Untranslatable`` when the two backslash modes of MySQL disagree about the shape.
    """
    from osiris.sqlguard import blank_literals

    shapes = set()
    for backslash in (True, False):
        blank = blank_literals(query, mysql=True, backslash=backslash)
        names = blank_literals(query, mysql=True, backslash=backslash, keep_identifiers=True)
        if blank is not None and names is not None:
            shapes.add(_shape(names, blank))
    if len(shapes) != 1:
        raise Untranslatable("its string literals read differently under NO_BACKSLASH_ESCAPES")
    (found,) = shapes
    return Shape([tuple(t) for t in found[0]] if found[0] is not None else None, found[1])  # type: ignore[misc]


def _shape(query: str, blank: str) -> tuple[tuple | None, bool]:
    """``query`` here has only comments and strings blanked; ``blank`` identifiers too."""
    words = []  # (WORD, start, end) at parenthesis depth 0
    depth, last = 0, 0
    for match in _WORD.finditer(blank):
        for c in blank[last : match.start()]:
            depth += (c == "(") - (c == ")")
        last = match.start()
        if depth == 0:
            words.append((match.group().upper(), match.start(), match.end()))
    has_limit = any(w in ("LIMIT", "OFFSET", "FETCH") for w, _, _ in words)
    order_at = [i for i, w in enumerate(words[:-1]) if w[0] == "ORDER" and words[i + 1][0] == "BY"]
    if not order_at:
        return None, has_limit
    start = words[order_at[-1] + 1][2]
    end = next((s for w, s, _ in words[order_at[-1] + 2 :] if w in _ENDS_ORDER), len(query))
    terms, depth, begin = [], 0, start
    for pos in range(start, end + 1):
        c = blank[pos] if pos < end else ","
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            terms.append(_term(query[begin:pos], blank[begin:pos]))
            begin = pos + 1
    return tuple(terms), has_limit


def _term(text: str, blank: str) -> tuple[str, str]:
    body, tail = text.rstrip().rstrip(";").rstrip(), blank.rstrip().rstrip(";").rstrip()
    direction = "ASC"
    match = re.search(r"\s(ASC|DESC)$", " " + tail, re.I)
    if match:
        direction = match[1].upper()
        body = body[: len(body) - len(match[1])]
    return body.strip(), direction


def outer_order_by(shape: Shape, names: list[str], quote: callable) -> str | None:  # type: ignore[valid-type]
    """``ORDER BY`` over the output columns equal to the query's own, or None if it has none."""
    if shape.order_by is None:
        return None
    folded = [n.lower() for n in names]
    parts = []
    for expr, direction in shape.order_by:
        if expr.isdigit():
            index = int(expr)
            if not 1 <= index <= len(names):
                raise Untranslatable(f"ORDER BY {expr} is not a column position of the result")
            name = names[index - 1]
        else:
            quoted = _QUOTED_NAME.match(expr)
            plain = expr if _PLAIN_NAME.match(expr) else None
            wanted = quoted[1].replace("``", "`") if quoted else plain
            if wanted is None or folded.count(wanted.lower()) != 1:
                raise Untranslatable(
                    f"ORDER BY {expr} is not a column of the result (a qualified name or an"
                    " expression there can only be ordered inside the query)"
                )
            name = names[folded.index(wanted.lower())]
        parts.append(f"{quote(name)} {direction}")
    return "ORDER BY " + ", ".join(parts)
