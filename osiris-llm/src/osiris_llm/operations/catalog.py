"""What is installed: components with their specs, and the OML JSON Schema built on them."""

from __future__ import annotations

from typing import Any

from osiris.errors import InvalidInputError

from osiris_llm.operations.workspace import Workspace, jsonable


def list_components(ws: Workspace) -> list[dict[str, Any]]:
    """Every installed component, one line each (the spec comes from ``get_component``)."""
    return [
        {
            "name": name,
            "modes": component.modes,
            "title": component.spec.get("title"),
            "description": component.spec.get("description"),
            "distribution": component.distribution,
            "version": component.spec.get("version") or component.version,
        }
        for name, component in sorted(ws.registry().components.items())
    ]


def get_component(ws: Workspace, name: str) -> dict[str, Any]:
    """A component's full spec (configSchema, examples, llmHints) with where it comes from."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            "The argument 'name' must be a component name such as mysql.extractor."
        )
    component = ws.registry().component(name.strip())
    return {
        **jsonable(dict(component.spec)),
        "distribution": component.distribution,
        "distribution_version": component.version,
    }


def oml_schema(ws: Workspace | None = None) -> dict[str, Any]:
    """JSON Schema of an OML v0.1.0 file; with a workspace, ``component`` lists what is installed
    and each component's ``config`` is described by its own ``configSchema``.

    It describes the shape for clients and models; the validator (``oml_validate``) stays the
    judge, because it also checks what a schema cannot (needs, cycles, params, secrets).
    """
    from osiris.oml import OML_VERSION
    from osiris.oml.validate import STEP_ID

    step: dict[str, Any] = {
        "type": "object",
        "required": ["component", "mode"],
        "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
        "properties": {
            "id": {"type": "string", "pattern": f"^{STEP_ID.pattern}$"},
            "name": {"type": "string", "description": "Accepted in place of id."},
            "description": {"type": "string"},
            "component": {
                "type": "string",
                "description": "An installed component, e.g. mysql.extractor.",
            },
            "mode": {"enum": ["read", "write", "transform"]},
            "needs": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Ids of the steps whose output this step reads.",
            },
            "config": {
                "type": "object",
                "description": "The component's configuration; connection: '@family.alias'.",
            },
        },
        "additionalProperties": False,
    }
    if ws is not None:
        components = ws.registry().components
        step["properties"]["component"]["enum"] = sorted(components)
        step["allOf"] = [
            {
                "if": {"properties": {"component": {"const": name}}, "required": ["component"]},
                "then": {"properties": {"config": jsonable(dict(c.config_schema))}},
            }
            for name, c in sorted(components.items())
        ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://osiris.dev/schemas/oml-0.1.0.json",
        "title": f"OML v{OML_VERSION} pipeline",
        "type": "object",
        "required": ["oml_version", "name", "steps"],
        "properties": {
            "oml_version": {"const": OML_VERSION},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": ["string", "null"]},
            "metadata": {"type": ["object", "null"]},
            "params": {
                "type": "object",
                "description": "Parameter defaults, used as ${params.NAME} in step configs.",
            },
            "profiles": {
                "type": "object",
                "additionalProperties": {"type": "object"},
                "description": "Named sets of parameter values, chosen with --profile.",
            },
            "steps": {"type": "array", "minItems": 1, "items": step},
        },
        "additionalProperties": False,
    }
