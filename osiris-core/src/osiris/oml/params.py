"""``${params.x}`` values: defaults, profiles, environment and CLI, in that rising precedence.

CLI ``--param`` > ``OSIRIS_PARAM_<NAME>`` > ``--profile`` > ``params`` defaults. Values given as
text (CLI, environment) take the type of the declared default, so ``--param limit=5`` stays an
integer where the default is ``100``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from osiris.oml.issues import Issue, PathPart, Position, format_path

PARAM_REF = re.compile(r"\$\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_PREFIX = "OSIRIS_PARAM_"
_MISSING = object()
_KINDS = {"bool": "a boolean (true/false)", "int": "an integer", "float": "a finite number"}
"""How a declared default's type is named when a text value does not convert to it."""


@dataclass
class ParamResolution:
    """Resolved values, and the problems found while resolving."""

    values: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def resolve_params(
    data: Mapping[str, Any],
    *,
    profile: str | None,
    cli: Mapping[str, str] | None,
    env: Mapping[str, str],
    position: Position,
) -> ParamResolution:
    """Merge the four sources of parameter values for the names the file declares or uses."""
    out = ParamResolution()
    declared = _declared(data.get("params"), out, position)
    profile_values = _profile(data.get("profiles"), profile, out, position)
    cli = dict(cli or {})
    names = set(declared) | set(profile_values) | set(cli) | _referenced(data.get("steps"))
    for name in sorted(names):
        default = declared.get(name, _MISSING)
        value = default
        if name in profile_values:
            value = profile_values[name]
        env_name = ENV_PREFIX + name.upper()
        for source, given in (
            (f"environment variable {env_name}", env.get(env_name)),
            (f"--param {name}", cli.get(name)),
        ):
            if given is not None:
                value = _typed(name, given, default, source, out, position)
        if value is not _MISSING:
            out.values[name] = value
    for name in cli:
        if not NAME.fullmatch(name):
            out.issues.append(
                Issue(
                    "params",
                    f"--param name '{name}' is not a valid parameter name",
                    "use letters, digits and '_'",
                )
            )
    return out


def substitute(
    value: Any,
    params: Mapping[str, Any],
    path: tuple[PathPart, ...],
    issues: list[Issue],
    position: Position,
) -> Any:
    """Replace ``${params.x}`` everywhere in ``value``; a whole-string reference keeps the type."""
    if isinstance(value, dict):
        return {k: substitute(v, params, (*path, k), issues, position) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, (*path, i), issues, position) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = PARAM_REF.fullmatch(value.strip())
    if whole:
        return _lookup(whole.group(1), params, path, issues, position, value)

    def text(match: re.Match[str]) -> str:
        found = _lookup(match.group(1), params, path, issues, position, value)
        return _as_text(found)

    return PARAM_REF.sub(text, value)


def _lookup(
    name: str,
    params: Mapping[str, Any],
    path: tuple[PathPart, ...],
    issues: list[Issue],
    position: Position,
    original: str,
) -> Any:
    if name in params:
        return params[name]
    issues.append(
        Issue(
            format_path(path),
            f"undefined parameter '{name}'",
            f"declare it under params: (e.g. params: {{{name}: VALUE}}), or pass --param {name}=VALUE"
            f" or set {ENV_PREFIX}{name.upper()}",
            "error",
            *position(path),
        )
    )
    return original


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _declared(params: Any, out: ParamResolution, position: Position) -> dict[str, Any]:
    """``params: {x: 5}`` or ``params: {x: {default: 5, description: ...}}``; no default = required."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        out.issues.append(
            Issue(
                "params",
                "params must be a mapping of name to default value",
                "write params: {name: default}",
                "error",
                *position(("params",)),
            )
        )
        return {}
    declared: dict[str, Any] = {}
    for name, spec in params.items():
        where = ("params", name)
        if not NAME.fullmatch(name):
            out.issues.append(
                Issue(
                    format_path(where),
                    f"parameter name '{name}' is not valid",
                    "use letters, digits and '_' (not starting with a digit)",
                    "error",
                    *position(where),
                )
            )
            continue
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - {"default", "description", "type"})
            if unknown:
                out.issues.append(
                    Issue(
                        format_path(where),
                        f"unknown key(s) {', '.join(unknown)} in parameter '{name}'",
                        "a parameter is a value, or a mapping with default and description",
                        "error",
                        *position(where),
                    )
                )
            if "default" in spec:
                declared[name] = spec["default"]
        elif isinstance(spec, list):
            out.issues.append(
                Issue(
                    format_path(where),
                    f"parameter '{name}' must be a single value, not a list",
                    "give a string, number or boolean",
                    "error",
                    *position(where),
                )
            )
        else:
            declared[name] = spec
    return declared


def _profile(
    profiles: Any, name: str | None, out: ParamResolution, position: Position
) -> dict[str, Any]:
    """A profile is ``{params: {...}}`` or directly ``{...}``."""
    if profiles is not None and not isinstance(profiles, dict):
        out.issues.append(
            Issue(
                "profiles",
                "profiles must be a mapping of profile name to parameter values",
                "write profiles: {prod: {params: {x: 1}}}",
                "error",
                *position(("profiles",)),
            )
        )
        return {}
    profiles = profiles or {}
    for pname, body in profiles.items():
        values = _profile_values(body)
        if not isinstance(values, dict):
            where = ("profiles", pname)
            out.issues.append(
                Issue(
                    format_path(where),
                    f"profile '{pname}' must map parameter names to values",
                    "write profiles: {prod: {params: {x: 1}}}",
                    "error",
                    *position(where),
                )
            )
    if name is None:
        return {}
    if name not in profiles:
        defined = ", ".join(sorted(profiles)) or "none"
        out.issues.append(
            Issue(
                "profiles",
                f"unknown profile '{name}'; defined: {defined}",
                "pick one of the profiles defined in the file, or add it under profiles:",
            )
        )
        return {}
    body = profiles[name]
    values = _profile_values(body)
    return dict(values) if isinstance(values, dict) else {}


def _profile_values(body: Any) -> Any:
    """``{params: {...}, description: ...}`` or the values directly."""
    if isinstance(body, dict) and isinstance(body.get("params"), dict):
        return body["params"]
    return body


def _referenced(steps: Any) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            found.update(PARAM_REF.findall(value))

    walk(steps)
    return found


def _finite(number: float) -> float:
    """``nan`` and ``inf`` (or ``1e400``) parse as floats but cannot be written to meta.json."""
    if not math.isfinite(number):
        raise ValueError(number)
    return number


def _typed(
    name: str, text: str, default: Any, source: str, out: ParamResolution, position: Position
) -> Any:
    """Text from the CLI or environment, converted to the type of the declared default."""
    try:
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return _finite(float(text))
    except ValueError:
        kind = _KINDS[type(default).__name__]
        out.issues.append(
            Issue(
                f"params.{name}",
                f"{source} must be {kind} like its default {default!r}, got {text!r}",
                f"pass {kind}",
                "error",
                *position(("params", name)),
            )
        )
    return text
