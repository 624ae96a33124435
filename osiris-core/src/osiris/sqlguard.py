"""Read-only query policy for SQL extractors: one SELECT (or WITH … SELECT), nothing else.

Why a lexer and not a regex: keywords inside comments and string/identifier literals must not
count, and literals must not hide code. MySQL and PostgreSQL disagree on what a literal is
(``#`` comments, ``$tag$`` quotes, nested ``/* */``, MySQL's executable ``/*! … */`` and
MariaDB's ``/*M! … */``) and server settings change backslash escapes, so the query is analysed
under every combination and rejected if any finds a problem. Drivers also run queries inside a read-only transaction; this check gives the early,
clear sentence at validation time.
"""

from __future__ import annotations

import re

FORBIDDEN = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "DROP", "ALTER", "CREATE", "TRUNCATE",
        "GRANT", "REVOKE", "CALL", "LOAD", "SET", "LOCK", "HANDLER", "COPY", "DO", "EXECUTE",
        "EXEC", "INTO", "RENAME", "UPSERT", "VACUUM", "ANALYZE", "ATTACH", "DETACH", "PRAGMA",
        "REINDEX", "CLUSTER", "REFRESH", "NOTIFY", "LISTEN", "PREPARE", "DEALLOCATE",
        "SHARE", "OUTFILE", "DUMPFILE",
    }
)  # fmt: skip
"""Words that modify data or have side effects; allowed only inside literals and comments."""

_FUNCTIONS = frozenset({"REPLACE", "INSERT"})
"""Read-only string functions sharing a name with a statement: ``REPLACE(title, 'a', 'b')``."""
SIDE_EFFECT_FUNCTIONS = frozenset(
    {
        "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE",
        "SET_CONFIG", "LO_IMPORT", "LO_EXPORT", "LO_UNLINK", "PG_READ_FILE",
        "PG_READ_BINARY_FILE", "PG_LS_DIR", "DBLINK", "DBLINK_EXEC", "PG_ADVISORY_LOCK",
        "PG_ADVISORY_XACT_LOCK", "PG_SLEEP", "LOAD_FILE", "SLEEP", "BENCHMARK", "GET_LOCK",
        "SYS_EXEC", "SYS_EVAL",
    }
)  # fmt: skip
"""Functions that act on the server or its files, which a read-only transaction does not stop."""

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_ALLOWED = "only a single read-only SELECT (or WITH … SELECT) is allowed"


def read_only_problem(query: str, *, dialect: str | None = None) -> str | None:
    """``None`` if ``query`` is one read-only SELECT; otherwise the problem as one sentence.

    ``dialect`` (``"mysql"`` or ``"postgres"``) narrows the lexical rules to one server; without
    it the query must be safe under both, which rejects a few exotic but valid queries.
    """
    if not isinstance(query, str):
        return f"The query must be a string; {_ALLOWED}."
    if dialect not in (None, "mysql", "postgres"):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    dialects = (True, False) if dialect is None else (dialect == "mysql",)
    # Backslash escapes depend on sql_mode NO_BACKSLASH_ESCAPES / standard_conforming_strings.
    modes = [(mysql, backslash) for mysql in dialects for backslash in (True, False)]
    unterminated = 0
    for mysql, backslash in modes:
        code = _strip(query, mysql=mysql, backslash=backslash)
        if code is None:  # the server in this mode refuses it as a syntax error
            unterminated += 1
            continue
        problem = _problem(code)
        if problem:
            return problem
    if unterminated == len(modes):
        return "The query has an unterminated string, quoted identifier or comment."
    return None


def _problem(code: str) -> str | None:
    """The problem of a query whose comments and literals are already blanked out."""
    statements = [part for part in code.split(";") if part.strip()]
    if not statements:
        return f"The query is empty; {_ALLOWED}."
    if len(statements) > 1:
        return f"The query contains more than one statement; {_ALLOWED}."
    words = [(m.group().upper(), m.end()) for m in _WORD.finditer(statements[0])]
    if not words or words[0][0] not in ("SELECT", "WITH") or not _starts_plainly(statements[0]):
        first = words[0][0] if words else statements[0].strip()[:20]
        return f"The query starts with {first}; {_ALLOWED}."
    for i, (word, end) in enumerate(words):
        if word in SIDE_EFFECT_FUNCTIONS and statements[0][end:].lstrip().startswith("("):
            return f"The query calls {word.lower()}(), which acts on the server; {_ALLOWED}."
        if word not in FORBIDDEN:
            continue
        if word in _FUNCTIONS and statements[0][end:].lstrip().startswith("("):
            continue
        if (
            word == "SET" and i > 0 and words[i - 1][0] == "CHARACTER"
        ):  # CAST(x AS CHAR CHARACTER SET y)
            continue
        return f"The query contains {_describe(words, i)}; {_ALLOWED}."
    return None


def _starts_plainly(statement: str) -> bool:
    """Only opening parentheses may precede the first keyword: ``(SELECT 1) UNION (SELECT 2)``."""
    head = statement[: _WORD.search(statement).start()]
    return not head.replace("(", "").strip()


def _describe(words: list[tuple[str, int]], i: int) -> str:
    word = words[i][0]
    before = [w for w, _ in words[max(0, i - 3) : i]]
    if word in ("UPDATE", "SHARE") and "FOR" in before:
        return f"a locking clause (FOR {word})"
    if word == "LOCK" and [w for w, _ in words[i + 1 : i + 3]] == ["IN", "SHARE"]:
        return "a locking clause (LOCK IN SHARE MODE)"
    if word == "SHARE":
        return "a locking clause (SHARE)"
    if word in ("INTO", "OUTFILE", "DUMPFILE"):
        return f"{word} (SELECT … INTO writes a table or file)"
    return word


def blank_literals(
    query: str, *, mysql: bool, backslash: bool, keep_identifiers: bool = False
) -> str | None:
    """``query`` with every comment and literal (strings, and quoted identifiers unless
    ``keep_identifiers``) turned into spaces of the same length, so positions found in the
    result point into ``query``; ``None`` when one is unterminated. Drivers use it to find
    top-level clauses (``ORDER BY``, ``LIMIT``)."""
    return _strip(
        query, mysql=mysql, backslash=backslash, keep_length=True, keep_identifiers=keep_identifiers
    )


def has_top_level_limit(query: str, *, dialect: str) -> bool:
    """Whether the statement itself (not a subquery or CTE) has LIMIT, OFFSET or FETCH, under
    any lexical mode of ``dialect``: such a query cannot take an extra filter from outside."""
    mysql = dialect == "mysql"
    for backslash in (True, False):
        code = _strip(query, mysql=mysql, backslash=backslash)
        if code is None:
            continue
        depth, last = 0, 0
        for match in _WORD.finditer(code):
            depth += code.count("(", last, match.start()) - code.count(")", last, match.start())
            last = match.start()
            if depth == 0 and match.group().upper() in ("LIMIT", "OFFSET", "FETCH"):
                return True
    return False


def _strip(
    query: str,
    *,
    mysql: bool,
    backslash: bool,
    keep_length: bool = False,
    keep_identifiers: bool = False,
) -> str | None:
    """The query with comments and literals replaced by spaces, or ``None`` if one is unterminated.

    Literals become a space (as many as they were long with ``keep_length``) so adjacent words
    stay apart; ``/*! … */`` (and MariaDB's ``/*M! … */``) keeps its content in MySQL because the
    server executes it.
    """

    def blank(start: int, end: int) -> str:
        return " " * (end - start) if keep_length else " "

    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        nxt = query[i + 1] if i + 1 < n else ""
        if (c == "-" and nxt == "-" and (not mysql or i + 2 >= n or query[i + 2].isspace())) or (
            c == "#" and mysql
        ):
            end = query.find("\n", i)
            end = n if end < 0 else end
            out.append(blank(i, end))
            i = end
        elif c == "/" and nxt == "*":
            executable = query.startswith("/*!", i) or query.startswith("/*M!", i)
            if mysql and executable:  # MySQL's /*! and MariaDB's /*M!: the body is code
                j = i + (4 if query[i + 2] == "M" else 3)
                while j < n and query[j].isdigit():
                    j += 1
                end = query.find("*/", j)
                if end < 0:
                    return None
                out.append(blank(i, j) + query[j:end] + blank(end, end + 2))
                i = end + 2
            else:
                end = _block_comment_end(query, i, nested=not mysql)
                if end < 0:
                    return None
                out.append(blank(i, end))
                i = end
        elif c in "'\"`":
            escapes = backslash or (c == "'" and not mysql and _e_prefix(query, i))
            if c == "`" and not mysql:  # PostgreSQL has no backticks: treat as an operator char
                out.append(c)
                i += 1
                continue
            end = _quoted_end(query, i, escapes=escapes and c != "`")
            if end < 0:
                return None
            out.append(query[i:end] if keep_identifiers and c == "`" else blank(i, end))
            i = end
        elif (
            c == "$" and not mysql and (m := _DOLLAR_TAG.match(query, i)) and not _in_word(query, i)
        ):
            close = query.find(m.group(), m.end())
            if close < 0:
                return None
            out.append(blank(i, close + len(m.group())))
            i = close + len(m.group())
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _block_comment_end(query: str, start: int, *, nested: bool) -> int:
    """Index just past the comment opened at ``start`` (PostgreSQL nests them), or -1."""
    depth, i = 0, start
    while i < len(query) - 1:
        pair = query[i : i + 2]
        if pair == "/*" and (nested or depth == 0):
            depth += 1
            i += 2
        elif pair == "*/":
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1


def _quoted_end(query: str, start: int, *, escapes: bool) -> int:
    """Index just past the literal opened at ``start``; doubled quotes (and maybe ``\\``) escape."""
    quote, i, n = query[start], start + 1, len(query)
    while i < n:
        c = query[i]
        if escapes and c == "\\":
            i += 2
        elif c == quote:
            if i + 1 < n and query[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return -1


def _e_prefix(query: str, quote_at: int) -> bool:
    """PostgreSQL ``E'…'`` strings honour backslash escapes."""
    return quote_at > 0 and query[quote_at - 1] in "eE" and not _in_word(query, quote_at - 1)


def _in_word(query: str, i: int) -> bool:
    return i > 0 and (query[i - 1].isalnum() or query[i - 1] in "_$")
