"""``osiris discover @family.alias``: tables, columns, keys, row estimates and samples."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from osiris.cli.connections_cmd import CONNECTIONS_OPTION, registry_from

MAX_CELL = 40
"""Characters of a sample value shown in the text view (JSON output is never cut)."""


@click.command()
@click.argument("ref")
@click.option("--tables", default=None, help="Comma-separated tables to describe (default: all).")
@click.option(
    "--samples",
    type=click.IntRange(min=0, max=100),
    default=None,
    help="Sample rows per table (default: discovery.samples in osiris.yaml, 5).",
)
@click.option("--refresh", is_flag=True, help="Ignore the discovery cache and discover again.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@CONNECTIONS_OPTION
@click.option(
    "--logs-dir",
    type=click.Path(path_type=Path),
    help="Where the discovery's session goes (default: $OSIRIS_LOGS_DIR or ./logs).",
)
@click.pass_context
def discover(
    ctx: click.Context,
    ref: str,
    tables: str | None,
    samples: int | None,
    refresh: bool,
    as_json: bool,
    connections_file: str | None,
    logs_dir: Path | None,
) -> None:
    """Describe what the connection REF (e.g. @mysql.default) holds; results are cached."""
    from osiris import discovery
    from osiris.connections import load_connections
    from osiris.errors import OsirisError
    from osiris.masking import process_masker
    from osiris.session.command import create_session, finish_command
    from osiris.settings import load_settings

    samples = load_settings(cli={"discovery": {"samples": samples}}).get("discovery", "samples")
    registry = registry_from(ctx)
    wanted = [name.strip() for name in tables.split(",") if name.strip()] if tables else None
    session = create_session(logs_dir, kind="discovery")
    session.event("discovery_start", reference=ref, tables=wanted, refresh=refresh)
    try:
        resolved = load_connections(connections_file).resolve(ref, registry)
        found = discovery.discover(
            resolved, registry, tables=wanted, samples=samples, refresh=refresh
        )
    except OsirisError as exc:
        finish_command(session, ok=False, error=str(exc), reference=ref)
        raise
    listed = found.result.get("tables") or []
    session.write_text(
        "artifacts/discovery/discovery.json",
        json.dumps(found.to_json(), indent=2, ensure_ascii=False, default=str),
    )
    finish_command(
        session,
        ok=True,
        reference=found.ref,
        family=found.family,
        tables=len(listed),
        unreadable=sum(1 for table in listed if table.get("error")),
        cached=found.cached,
        fingerprint=found.fingerprint,
    )
    if as_json:
        text = json.dumps(found.to_json(), indent=2, ensure_ascii=False, default=str)
    else:
        text = render(found)
    click.echo(process_masker.mask(text))


def render(found: Any) -> str:
    """The discovery as text: one block per table with its columns and samples."""
    source = "cache" if found.cached else "live"
    lines = [f"{found.ref}  ({source}, discovered {found.discovered_at})"]
    lines.extend(
        f"{key}: {value}"
        for key, value in found.result.items()
        if key != "tables" and isinstance(value, str | int | float)
    )
    tables = found.result.get("tables") or []
    if not tables:
        lines.append("No tables found.")
    for table in tables:
        lines.append("")
        lines.append(_table_heading(table))
        if table.get("error"):
            lines.append(f"  error: {table['error']}")
        columns = table.get("columns") or []
        primary = [str(name) for name in table.get("primary_key") or []]
        rows = [
            [
                str(column.get("name", "")),
                str(column.get("type", "")),
                _nullable(column.get("nullable")),
                _key(column, primary),
            ]
            for column in columns
        ]
        if rows or not table.get("error"):  # an unreadable table has nothing to tabulate
            lines.extend(_grid(["column", "type", "null", "key"], rows, indent="  "))
        lines.extend(_samples(table, [str(column.get("name", "")) for column in columns]))
    return "\n".join(lines)


def _table_heading(table: Mapping[str, Any]) -> str:
    kind = table.get("kind") or table.get("type") or "table"
    parts = [f"{kind} {table.get('name', '?')}"]
    estimate = next(
        (table[key] for key in ("row_estimate", "rows", "row_count") if key in table), None
    )
    if table.get("format"):
        parts.append(f"format {table['format']}")
    if isinstance(estimate, int | float) and estimate >= 0:
        parts.append(f"~{estimate:,.0f} rows")
    primary = table.get("primary_key")
    if primary:
        parts.append(f"primary key ({', '.join(map(str, primary))})")
    return ", ".join(parts)


def _nullable(value: Any) -> str:
    if value is None:
        return ""
    return "yes" if value else "no"


def _key(column: Mapping[str, Any], primary: list[str]) -> str:
    key = column.get("key")
    if key:
        return str(key)
    return "primary" if column.get("primary_key") or column.get("name") in primary else ""


def _samples(table: Mapping[str, Any], columns: list[str]) -> list[str]:
    rows = table.get("samples") or table.get("sample_rows") or []
    if not rows:
        return []
    if isinstance(rows[0], Mapping):
        header = columns or list(rows[0])
        cells = [[_cell(row.get(name)) for name in header] for row in rows]
    else:
        header = columns or [f"c{i}" for i in range(len(rows[0]))]
        cells = [[_cell(value) for value in row] for row in rows]
    return ["", f"  samples ({len(rows)}):", *_grid(header, cells, indent="    ")]


def _cell(value: Any) -> str:
    """One sample value; JSON documents, lists and booleans are shown as JSON, not Python repr."""
    if value is None:
        text = "NULL"
    elif isinstance(value, dict | list | bool):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _grid(header: list[str], rows: list[list[str]], *, indent: str) -> list[str]:
    widths = [len(title) for title in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=False)]

    def line(cells: list[str]) -> str:
        return indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]
