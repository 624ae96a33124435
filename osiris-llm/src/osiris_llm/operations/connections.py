"""Connections as a model may see them: masked listings, checks, discovery and samples."""

from __future__ import annotations

import re
from typing import Any

from osiris.errors import InvalidInputError, OsirisError

from osiris_llm.operations.workspace import Workspace, masked

MAX_SAMPLE_ROWS = 20
DOCTOR_TIMEOUT_S = 30.0
_GUESSED_SECRET = re.compile(r"pass|secret|token|key|credential|dsn", re.IGNORECASE)
"""For a family that is not installed (no declaration): fields that look secret stay hidden."""


def list_connections(ws: Workspace) -> list[dict[str, Any]]:
    """Every configured connection with its non-secret fields; secret fields by name only."""
    registry = ws.registry()
    out = []
    for listing in ws.connections().list(registry):
        provided = registry.families.get(listing.family)
        if provided is not None:
            secret = {name.lower() for name in provided.item.secret_fields}
        else:
            secret = {k.lower() for k in listing.values if _GUESSED_SECRET.search(k)}
        out.append(
            {
                "reference": listing.ref,
                "family": listing.family,
                "alias": listing.alias,
                "default": listing.is_default,
                "fields": {k: v for k, v in listing.values.items() if k.lower() not in secret},
                "secret_fields": sorted(k for k in listing.values if k.lower() in secret),
                "ok": listing.ok,
                "missing_variables": listing.missing,
                "problems": listing.problems,
            }
        )
    return masked(out)


def doctor_connections(ws: Workspace, reference: str | None = None) -> list[dict[str, Any]]:
    """Check connections (all, or the one ``reference`` names) the way ``connections doctor`` does."""
    from osiris.cli.connections_cmd import _check
    from osiris.connections import parse_reference

    loaded = ws.connections()
    if loaded.path is None:
        raise InvalidInputError(
            "No connections file found (looked for"
            f" {', '.join(str(p) for p in loaded.searched)}); create osiris_connections.yaml."
        )
    if reference is None:
        targets = [(f, a) for f in loaded.families() for a in loaded.aliases(f)]
    else:
        family, alias = parse_reference(_reference(reference))
        if family not in loaded.families():
            raise InvalidInputError(
                f"The argument 'reference' names family '{family}', which has no connections;"
                f" defined: {', '.join(loaded.families()) or 'none'}."
            )
        targets = [(family, alias or loaded.default_alias(family))]
    results = []
    for family, alias in targets:
        checked = _check(loaded, ws.registry(), family, alias, DOCTOR_TIMEOUT_S)
        results.append(
            {
                "reference": checked["ref"],
                "ok": checked["ok"],
                "category": checked["category"],
                "message": checked["message"],
                "latency_ms": (
                    round(checked["latency_ms"], 1) if checked["latency_ms"] is not None else None
                ),
            }
        )
    return masked(results)


def discover(
    ws: Workspace,
    reference: str,
    *,
    tables: list[str] | None = None,
    refresh: bool = False,
    samples: int = 0,
) -> dict[str, Any]:
    """Tables, columns, types, keys and row estimates (cached like ``osiris discover``).

    ``samples`` (0 to 20) adds that many rows per table, masked; refused when samples are off.
    """
    _check_sample_count(ws, samples, "samples", minimum=0)
    found = _discover(ws, reference, tables=tables, samples=samples, refresh=refresh)
    result = found.to_json()
    if not samples:
        for table in result.get("tables") or []:
            table.pop("samples", None)
            table.pop("sample_rows", None)
    return masked(result)


def sample(ws: Workspace, reference: str, table: str, *, limit: int = MAX_SAMPLE_ROWS) -> dict:
    """Up to 20 rows of one table, with the connection's secrets masked in the values."""
    _check_sample_count(ws, limit, "limit", minimum=1)
    if not isinstance(table, str) or not table.strip():
        raise InvalidInputError("The argument 'table' must be a table name.")
    found = _discover(ws, reference, tables=[table.strip()], samples=limit, refresh=False)
    match = next(
        (t for t in found.result.get("tables") or [] if t.get("name") == table.strip()), None
    )
    if match is None or match.get("error"):
        reason = match.get("error") if match else "no such table or view"
        raise InvalidInputError(
            f"The argument 'table': '{table}' cannot be sampled from {found.ref} ({reason})."
        )
    rows = (match.get("samples") or match.get("sample_rows") or [])[:limit]
    return masked(
        {
            "reference": found.ref,
            "table": match["name"],
            "columns": [c.get("name") for c in match.get("columns") or []],
            "rows": rows,
            "cached": found.cached,
        }
    )


def _check_sample_count(ws: Workspace, count: Any, argument: str, *, minimum: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidInputError(f"The argument '{argument}' must be an integer, got {count!r}.")
    if not minimum <= count <= MAX_SAMPLE_ROWS:
        raise InvalidInputError(
            f"The argument '{argument}' must be from {minimum} to {MAX_SAMPLE_ROWS}, got {count}."
        )
    if count and not ws.samples:
        raise InvalidInputError(
            "Sample rows are turned off for this session (--no-samples); discover without"
            " samples still gives every table's columns and types."
        )


def _discover(
    ws: Workspace, reference: str, *, tables: list[str] | None, samples: int, refresh: bool
) -> Any:
    from osiris import discovery

    if tables is not None and (
        not isinstance(tables, list) or not all(isinstance(t, str) and t.strip() for t in tables)
    ):
        raise InvalidInputError("The argument 'tables' must be a list of table names.")
    registry = ws.registry()
    resolved = ws.connections().resolve(_reference(reference), registry)
    wanted = [t.strip() for t in tables] if tables else None
    try:
        return discovery.discover(
            resolved,
            registry,
            tables=wanted,
            samples=samples,
            refresh=refresh,
            base_dir=ws.project_dir,
        )
    except OsirisError as exc:
        raise OsirisError(str(masked(str(exc)))) from None


def _reference(reference: Any) -> str:
    if not isinstance(reference, str) or not reference.startswith("@") or len(reference) < 2:
        raise InvalidInputError(
            f"The argument 'reference' must look like '@family.alias' (e.g. '@mysql.default'),"
            f" got {reference!r}."
        )
    return reference
