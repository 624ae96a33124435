"""A step's config against its component's ``configSchema``, one problem per field.

jsonschema reports a missing field at the object and an unknown one as a list; users need the
field's own path and a fix, so those two cases are rewritten. Fields a connection supplies
(``x-connection-fields``, as in the existing Osiris's specs) are not required when the step
names a connection, and ``connection`` itself is allowed even where the spec does not declare it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from osiris.components import Component
from osiris.oml.issues import PathPart, allowed_hint

Problem = tuple[tuple[PathPart, ...], str, str]
"""(path relative to the config, message, fix)."""


def config_problems(
    config: Mapping[str, Any], component: Component, secrets: set[tuple[PathPart, ...]]
) -> list[Problem]:
    """Every schema problem of ``config``; values at ``secrets`` paths are never echoed."""
    schema = component.config_schema
    instance = dict(config)
    from_connection: set[str] = set()
    if "connection" in instance:
        from_connection = set(connection_fields(component))
        if "connection" not in (schema.get("properties") or {}):
            instance.pop("connection")
    problems: dict[tuple[PathPart, ...], Problem] = {}

    def once(path: tuple[PathPart, ...], message: str, fix: str) -> None:
        problems.setdefault(path, (path, message, fix))

    import jsonschema

    errors = jsonschema.Draft202012Validator(dict(schema)).iter_errors(instance)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        base = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance and not (not base and name in from_connection):
                    once(
                        (*base, name),
                        f"required field '{name}' is missing",
                        _field_fix(schema, name),
                    )
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            sub = _subschema(schema, base)
            allowed = sorted((sub.get("properties") or {}).keys())
            patterns = list((sub.get("patternProperties") or {}).keys())
            for name in error.instance:
                if name not in allowed and not any(re.search(p, name) for p in patterns):
                    fix = allowed_hint(name, allowed) if allowed else "remove it"
                    once((*base, name), f"unknown field '{name}' for {component.name}", fix)
        else:
            message = (
                "invalid value (not shown: it is a secret)" if base in secrets else _short(error)
            )
            once(base, message, f"see `osiris components show {component.name}`")
    return list(problems.values())


def connection_fields(component: Component) -> list[str]:
    """Config fields a connection supplies (``x-connection-fields``: names or ``{name: ...}``)."""
    out = []
    for item in component.spec.get("x-connection-fields") or []:
        name = item.get("name", item.get("field")) if isinstance(item, dict) else item
        if isinstance(name, str):
            out.append(name)
    return out


def _subschema(schema: Mapping[str, Any], path: tuple[PathPart, ...]) -> Mapping[str, Any]:
    for part in path:
        if isinstance(part, int):
            schema = schema.get("items") or {}
        else:
            schema = (schema.get("properties") or {}).get(part) or {}
    return schema


def _field_fix(schema: Mapping[str, Any], name: str) -> str:
    prop = (schema.get("properties") or {}).get(name) or {}
    description = prop.get("description") if isinstance(prop, dict) else None
    return (
        f"add {name} ({description.strip().rstrip('.')})"
        if isinstance(description, str)
        else f"add {name}"
    )


def _short(error: Any) -> str:
    """jsonschema quotes the whole value; a long query or list is cut to its start."""
    text = repr(error.instance)
    if len(text) <= 60:
        return error.message
    return error.message.replace(text, text[:40] + "…" + text[-1])
