"""Tool arguments checked against the tool's input schema, with one sentence per problem."""

from __future__ import annotations

import json
from typing import Any

from osiris.errors import InvalidInputError

_TYPE_WORDS = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def check_arguments(tool: str, schema: dict[str, Any], arguments: Any) -> dict[str, Any]:
    """``arguments`` if they fit ``schema``; else ``InvalidInputError`` naming the argument."""
    import jsonschema

    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise InvalidInputError(f"The arguments of '{tool}' must be an object.")
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(arguments),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if errors:
        raise InvalidInputError(_sentence(tool, schema, errors[0]))
    return arguments


def _sentence(tool: str, schema: dict[str, Any], error: Any) -> str:
    known = ", ".join(sorted(schema.get("properties") or {})) or "no arguments"
    if error.validator == "additionalProperties" and not error.absolute_path:
        extra = sorted(set(error.instance) - set(schema.get("properties") or {}))
        return f"Unknown argument '{extra[0]}' for '{tool}'; it takes: {known}."
    if error.validator == "required":
        missing = next(n for n in error.validator_value if n not in error.instance)
        where = _where(error.absolute_path)
        owner = f" in '{where}'" if where else ""
        return f"Missing required argument '{missing}'{owner} for '{tool}'."
    where = _where(error.absolute_path) or "(arguments)"
    value = _brief(error.instance)
    if error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        words = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
        return f"Argument '{where}' of '{tool}' must be {words}, got {value}."
    if error.validator in ("minimum", "maximum"):
        bound = "at least" if error.validator == "minimum" else "at most"
        return (
            f"Argument '{where}' of '{tool}' must be {bound} {error.validator_value}, got {value}."
        )
    if error.validator == "pattern" and "reference" in where:
        return f"Argument '{where}' of '{tool}' must look like '@family.alias', got {value}."
    if error.validator == "minLength":
        return f"Argument '{where}' of '{tool}' must not be empty."
    return f"Argument '{where}' of '{tool}' is invalid: {error.message}."


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
