"""MCP resources: the OML JSON Schema, each component's spec, the masked connections, recent runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from osiris.errors import InvalidInputError

from osiris_llm import operations as ops

SCHEMA_URI = "osiris://oml/schema"
CONNECTIONS_URI = "osiris://connections"
RUNS_URI = "osiris://runs"
COMPONENT_PREFIX = "osiris://components/"
RUN_PREFIX = "osiris://runs/"
RECENT_RUNS = 20


@dataclass(frozen=True)
class ResourceEntry:
    uri: str
    name: str
    title: str
    description: str
    mime_type: str = "application/json"


def list_resources(ws: ops.Workspace) -> list[ResourceEntry]:
    """Every resource the server offers now (components and runs as they are installed/made)."""
    entries = [
        ResourceEntry(
            SCHEMA_URI,
            "oml-schema",
            "OML v0.1.0 JSON Schema",
            "JSON Schema of a pipeline file, with each installed component's config schema.",
            "application/schema+json",
        ),
        ResourceEntry(
            CONNECTIONS_URI,
            "connections",
            "Connections (masked)",
            "Configured connections: references and non-secret fields; secret values never.",
        ),
        ResourceEntry(RUNS_URI, "runs", "Recent runs", "The newest run sessions with status."),
    ]
    entries += [
        ResourceEntry(
            COMPONENT_PREFIX + c["name"],
            f"component-{c['name']}",
            f"Component {c['name']}",
            c["title"] or c["name"],
        )
        for c in ops.list_components(ws)
    ]
    entries += [
        ResourceEntry(
            RUN_PREFIX + r["session"],
            r["session"],
            f"Run {r['session']}",
            f"{r['pipeline'] or '(not compiled)'}: {r['status']}",
        )
        for r in _recent_runs(ws)
    ]
    return entries


def read_resource(ws: ops.Workspace, uri: str) -> tuple[str, str]:
    """``(text, mime type)`` of a resource; an unknown URI is ``InvalidInputError``."""
    if uri == SCHEMA_URI:
        return _json(ops.oml_schema(ws)), "application/schema+json"
    if uri == CONNECTIONS_URI:
        return _json({"connections": ops.list_connections(ws)}), "application/json"
    if uri == RUNS_URI:
        return _json({"runs": _recent_runs(ws)}), "application/json"
    if uri.startswith(COMPONENT_PREFIX):
        return _json(ops.get_component(ws, uri.removeprefix(COMPONENT_PREFIX))), "application/json"
    if uri.startswith(RUN_PREFIX):
        return _json(ops.show_run(ws, uri.removeprefix(RUN_PREFIX))), "application/json"
    raise InvalidInputError(
        f"Unknown resource '{uri}'; resources/list shows the resources this server offers."
    )


def _recent_runs(ws: ops.Workspace) -> list[dict[str, Any]]:
    return ops.list_runs(ws, RECENT_RUNS)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
