"""Loading ``osiris_connections.yaml`` and resolving references against it.

The file is read once; variables are substituted and entries validated only when a reference is
resolved (or listed), so a missing variable of an unused connection never blocks a run.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from osiris.connections.reference import IDENTIFIER, parse_reference
from osiris.connections.variables import Variables, VariableSyntaxError, read_dotenv
from osiris.errors import InvalidInputError
from osiris.masking import MASK, Masker, process_masker, url_password

CONNECTIONS_FILE = "osiris_connections.yaml"
SUPPORTED_VERSIONS = (1, 1.0, "1", "1.0")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_DESCRIBED = ("pattern", "anyOf", "oneOf")
"""Rules whose own message quotes the schema (a regex, sub-schemas): the schema's description
says what was expected instead, when the family gives one."""
_GUESSED_SECRET = re.compile(r"pass|secret|token|key|credential", re.IGNORECASE)
"""Secret-looking field names, used only for families that are not installed (no declaration)."""


@dataclass(frozen=True, repr=False)
class ResolvedConnection:
    """A connection ready for a driver: ``values`` hold secrets, so never write them anywhere."""

    family: str
    alias: str
    ref: str
    values: dict[str, Any]
    secret_values: list[str]

    def __repr__(self) -> str:  # values stay out of tracebacks and debug logs
        return f"ResolvedConnection({self.ref}, fields={sorted(self.values)})"


@dataclass(frozen=True)
class ConnectionListing:
    """One entry as ``osiris connections list`` shows it: masked, with what is missing."""

    family: str
    alias: str
    ref: str
    is_default: bool
    values: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    family_installed: bool = True
    distribution: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems and self.family_installed

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "alias": self.alias,
            "ref": self.ref,
            "default": self.is_default,
            "values": self.values,
            "missing_variables": self.missing,
            "problems": self.problems,
            "family_installed": self.family_installed,
            "distribution": self.distribution,
            "ok": self.ok,
        }


class Connections:
    """The connections of one file (possibly none), with the variables to resolve them."""

    def __init__(
        self,
        families: dict[str, dict[str, dict[str, Any]]],
        *,
        path: Path | None,
        searched: list[Path],
        variables: Variables,
    ) -> None:
        self._families = families
        self.path = path
        self.searched = searched
        self._variables = variables

    def families(self) -> list[str]:
        return sorted(self._families)

    def aliases(self, family: str) -> list[str]:
        return sorted(self._families.get(family, {}))

    def default_alias(self, family: str) -> str:
        """``default: true`` wins, else an alias named ``default``; otherwise an error."""
        entries = self._entries(family)
        alias, flagged = _pick_default(entries)
        if len(flagged) > 1:
            raise InvalidInputError(_several_defaults(family, self.path, flagged))
        if alias is None:
            raise InvalidInputError(
                f"'@{family}' names no alias and family '{family}' in {self.path} has no default"
                f" alias; its aliases are: {', '.join(sorted(entries))}.",
                hint=f"Use '@{family}.<alias>' or mark one alias with 'default: true'.",
            )
        return alias

    @property
    def variables(self) -> Variables:
        """Where ``${VAR}`` values come from: the environment, then the ``.env`` files."""
        return self._variables

    def as_written(self, ref: str) -> tuple[str, str, dict[str, Any]]:
        """``(family, alias, entry)`` of ``ref`` as the file holds it, ``${VAR}`` unsubstituted.

        A remote adapter ships this (and the variables separately), never resolved values.
        """
        family_name, alias = parse_reference(ref)
        entries = self._entries(family_name)
        alias = alias or self.default_alias(family_name)
        if alias not in entries:
            raise InvalidInputError(
                f"Connection '@{family_name}.{alias}' is not defined in {self.path}; aliases of"
                f" '{family_name}': {', '.join(sorted(entries))}."
            )
        return family_name, alias, _without_default(entries[alias])

    def resolve(self, ref: str, registry: Any) -> ResolvedConnection:
        """Substitute variables, validate against the family's schema, register the secrets."""
        family_name, alias = parse_reference(ref)
        family = registry.family(family_name)
        entries = self._entries(family_name)
        alias = alias or self.default_alias(family_name)
        if alias not in entries:
            raise InvalidInputError(
                f"Connection '@{family_name}.{alias}' is not defined in {self.path}; aliases of"
                f" '{family_name}': {', '.join(sorted(entries))}."
            )
        canonical = f"@{family_name}.{alias}"
        values, missing = self._substitute(canonical, entries[alias])
        if missing:
            where, name = missing[0]
            others = "".join(f" Also unset: '{n}' (field '{w}')." for w, n in missing[1:])
            raise InvalidInputError(
                f"Connection '{canonical}' field '{where}' needs the variable '{name}',"
                f" which is not set.{others}",
                hint=f"Export {name} or add it to a .env file next to {self.path} or in the"
                " current directory (use ${" + name + ":-} for an intentionally empty value).",
            )
        secret_fields = tuple(family.secret_fields)
        values = _coerce(values, family.schema, entries[alias])
        secrets = secret_values(values, secret_fields)
        process_masker.add_secrets(secrets)  # values only: field names stay per-run (see masking)
        problems = _schema_problems(canonical, values, family.schema, secrets, secret_fields)
        if problems:
            raise InvalidInputError(problems[0], hint=f"Fix the entry in {self.path}.")
        return ResolvedConnection(family_name, alias, canonical, values, secrets)

    def list(self, registry: Any) -> list[ConnectionListing]:
        """Every entry, masked and checked, without raising: what is missing is reported."""
        listings = []
        for family_name in self.families():
            provided = registry.families.get(family_name)
            family = provided.item if provided else None
            default, flagged = _pick_default(self._families[family_name])
            family_problems = (
                [_several_defaults(family_name, self.path, flagged)] if len(flagged) > 1 else []
            )
            for alias in self.aliases(family_name):
                canonical = f"@{family_name}.{alias}"
                listings.append(
                    self._listing(
                        family_name, alias, canonical, family, provided, default, family_problems
                    )
                )
        return listings

    def _listing(
        self,
        family_name: str,
        alias: str,
        canonical: str,
        family: Any,
        provided: Any,
        default: str | None,
        family_problems: list[str],
    ) -> ConnectionListing:
        problems = list(family_problems)
        try:
            values, missing = self._substitute(canonical, self._families[family_name][alias])
        except InvalidInputError as exc:
            values, missing = _without_default(self._families[family_name][alias]), []
            problems.append(exc.message)
        if family is not None:
            secret_fields = tuple(family.secret_fields)
            values = _coerce(values, family.schema, self._families[family_name][alias])
        else:
            secret_fields = tuple(_guessed_secret_fields(values))
            problems.append(f"The connection family '{family_name}' is not installed.")
        secrets = secret_values(values, secret_fields)
        if family is not None and not missing and not problems:
            problems = _schema_problems(canonical, values, family.schema, secrets, secret_fields)
        masker = Masker(secrets, secret_fields)
        return ConnectionListing(
            family=family_name,
            alias=alias,
            ref=canonical,
            is_default=alias == default,
            values=masker.mask_obj(values),
            missing=sorted({name for _, name in missing}),
            problems=[masker.mask(problem) for problem in problems],
            family_installed=family is not None,
            distribution=provided.distribution if provided else None,
        )

    def _entries(self, family: str) -> dict[str, dict[str, Any]]:
        if self.path is None:
            raise InvalidInputError(
                f"No connections file found for '@{family}' (looked for"
                f" {', '.join(str(p) for p in self.searched)}).",
                hint=f"Create {CONNECTIONS_FILE} (`osiris init` writes an example) or pass"
                " --connections FILE.",
            )
        if family not in self._families:
            raise InvalidInputError(
                f"No connections of family '{family}' in {self.path}; it defines:"
                f" {', '.join(self.families()) or 'none'}."
            )
        return self._families[family]

    def _substitute(self, ref: str, entry: Mapping[str, Any]) -> tuple[dict, list[tuple[str, str]]]:
        missing: list[tuple[str, str]] = []

        def walk(value: Any, where: str) -> Any:
            if isinstance(value, dict):
                return {
                    key: walk(item, f"{where}.{key}" if where else str(key))
                    for key, item in value.items()
                }
            if isinstance(value, list):
                return [walk(item, f"{where}[{i}]") for i, item in enumerate(value)]
            if not isinstance(value, str):
                return value
            try:
                result = self._variables.substitute(value)
            except VariableSyntaxError as exc:
                raise InvalidInputError(f"Connection '{ref}' field '{where}': {exc}.") from None
            missing.extend((where, name) for name in result.missing)
            return result.text

        return walk(_without_default(entry), ""), missing


def load_connections(
    path: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Connections:
    """Find and read the connections file: ``path``, ``$OSIRIS_HOME``, then ``cwd``.

    A missing file is fine until a reference needs it. Variables come from ``env`` (default: the
    process environment), then ``.env`` next to the file, then ``.env`` in ``cwd``.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    environ = os.environ if env is None else env
    if path is not None:
        chosen: Path | None = Path(path) if Path(path).is_absolute() else base / path
        searched = [chosen]
        if not chosen.is_file():
            raise InvalidInputError(f"Connections file {chosen} does not exist.")
    else:
        searched = []
        if environ.get("OSIRIS_HOME"):
            searched.append(Path(environ["OSIRIS_HOME"]).expanduser() / CONNECTIONS_FILE)
        searched.append(base / CONNECTIONS_FILE)
        chosen = next((candidate for candidate in searched if candidate.is_file()), None)
    families = _read(chosen) if chosen else {}
    dotenv_paths = [chosen.parent / ".env"] if chosen else []
    if not any(p.resolve() == (base / ".env").resolve() for p in dotenv_paths):
        dotenv_paths.append(base / ".env")
    variables = Variables([environ, *(read_dotenv(p) for p in dotenv_paths)])
    return Connections(families, path=chosen, searched=searched, variables=variables)


def secret_values(values: Mapping[str, Any], secret_fields: tuple[str, ...]) -> list[str]:
    """Values of secret fields (at any depth), and passwords embedded in any URL value."""
    names = {name.lower() for name in secret_fields}
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, Mapping):
            for child_key, child in value.items():
                walk(child, str(child_key))
        elif isinstance(value, list):
            for child in value:
                walk(child, key)
        elif value not in (None, "") and not isinstance(value, bool):
            if key is not None and key.lower() in names:
                found.append(str(value))
            if isinstance(value, str) and (password := url_password(value)):
                found.extend((password, unquote(password)))

    walk(values, None)
    return list(dict.fromkeys(found))


def _read(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    import yaml

    try:
        raw = yaml.load(path.read_bytes().decode("utf-8-sig"), Loader=_strict_loader())
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"Connections file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
            f" at offset {exc.start}).",
            hint="Save it as UTF-8.",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise InvalidInputError(
            f"Connections file {path} is not valid YAML{where}: {problem}."
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"Cannot read connections file {path}: {exc.strerror}.") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"Connections file {path} must be a mapping of families.")
    if "connections" in raw or "version" in raw:
        if "version" in raw and raw["version"] not in SUPPORTED_VERSIONS:
            raise InvalidInputError(
                f"Connections file {path} has version {raw['version']!r}; supported: 1."
            )
        extra = sorted(str(key) for key in raw if key not in ("version", "connections"))
        if extra:
            raise InvalidInputError(
                f"Connections file {path} has unknown top-level keys: {', '.join(extra)};"
                " families belong under 'connections:'."
            )
        raw = raw.get("connections") or {}
        if not isinstance(raw, dict):
            raise InvalidInputError(f"'connections' in {path} must be a mapping of families.")
    return {str(name): _family(path, str(name), aliases) for name, aliases in raw.items()}


@functools.cache
def _strict_loader() -> type:
    """A safe YAML loader where dates stay the text written and a duplicate key is an error.

    ``yaml.safe_load`` keeps the last of two duplicate keys without a word (a silently wrong
    host or password) and turns ``password: 2024-01-01`` into a date no schema accepts.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key '{key_node.value}'", key_node.start_mark
                        )
                    seen.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return StrictLoader


def _family(path: Path, name: str, aliases: Any) -> dict[str, dict[str, Any]]:
    if not IDENTIFIER.fullmatch(name):
        raise InvalidInputError(f"Family name '{name}' in {path} is not a valid identifier.")
    if aliases is None:
        return {}
    if not isinstance(aliases, dict):
        raise InvalidInputError(f"Family '{name}' in {path} must be a mapping of aliases.")
    for alias, entry in aliases.items():
        if not isinstance(alias, str) or not IDENTIFIER.fullmatch(alias):
            raise InvalidInputError(f"Alias '{alias}' of '{name}' in {path} is not valid.")
        if not isinstance(entry, dict):
            raise InvalidInputError(f"Connection '@{name}.{alias}' in {path} must be a mapping.")
        if "default" in entry and not isinstance(entry["default"], bool):
            raise InvalidInputError(
                f"Connection '@{name}.{alias}' in {path}: 'default' must be true or false."
            )
    return aliases


def _pick_default(entries: Mapping[str, Mapping[str, Any]]) -> tuple[str | None, list[str]]:
    """The default alias (or None) and every alias flagged ``default: true``."""
    flagged = [alias for alias, entry in entries.items() if entry.get("default") is True]
    if len(flagged) == 1:
        return flagged[0], flagged
    if not flagged and "default" in entries:
        return "default", flagged
    return None, flagged


def _several_defaults(family: str, path: Path | None, flagged: list[str]) -> str:
    return (
        f"Family '{family}' in {path} marks several aliases as default ({', '.join(flagged)});"
        " mark only one with 'default: true'."
    )


def _without_default(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``default`` marker chooses an alias; drivers never see it."""
    return {key: value for key, value in entry.items() if key != "default"}


def _coerce(values: dict[str, Any], schema: Mapping[str, Any], raw: Mapping[str, Any]) -> dict:
    """Turn substituted strings into the integer/number/boolean their schema property wants.

    ``port: ${DB_PORT}`` is a string after substitution; only such fields are converted.
    """
    properties = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    result = dict(values)
    for key, value in values.items():
        if not isinstance(value, str) or "${" not in str(raw.get(key, "")):
            continue
        declared = properties.get(key, {}).get("type") if isinstance(properties, Mapping) else None
        types = {declared} if isinstance(declared, str) else set(declared or ())
        if not types or "string" in types:
            continue
        converted = _convert(value, types)
        if converted is not None:
            result[key] = converted
    return result


def _convert(text: str, types: set[str]) -> Any:
    lowered = text.strip().lower()
    if "boolean" in types and lowered in ("true", "false", "yes", "no", "1", "0"):
        return lowered in ("true", "yes", "1")
    if "integer" in types and re.fullmatch(r"[+-]?\d+", lowered):
        return int(lowered)
    if "number" in types:
        try:
            return float(lowered)
        except ValueError:
            return None
    return None


def _schema_problems(
    ref: str,
    values: Mapping[str, Any],
    schema: Mapping[str, Any],
    secrets: list[str],
    secret_fields: tuple[str, ...],
) -> list[str]:
    """Schema violations as sentences naming the connection and field, never a secret value."""
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [f"The family of '{ref}' declares an invalid connection schema: {exc.message}."]
    errors = sorted(validator_cls(schema).iter_errors(values), key=lambda e: list(e.path))
    masker = Masker(secrets, secret_fields)
    secret_names = {name.lower() for name in secret_fields}
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required":
            # one error per missing field, each carrying the whole list: name them all, once
            for absent in [name for name in error.validator_value if name not in error.instance]:
                field_name = ".".join(filter(None, [where, absent]))
                problems.append(f"Connection '{ref}' is missing the required field '{field_name}'.")
        elif error.validator == "additionalProperties":
            problems.append(f"Connection '{ref}': {error.message}.")
        elif error.validator == "type" and not isinstance(error.instance, dict | list):
            expected = error.validator_value
            expected = " or ".join(expected) if isinstance(expected, list) else expected
            problems.append(
                f"Connection '{ref}' field '{where}' must be of type {expected}, not"
                f" {_json_type(error.instance)}"
                + ("; quote the value in the YAML file." if expected == "string" else ".")
            )
        elif error.validator in _DESCRIBED and error.schema.get("description") and not where:
            problems.append(f"Connection '{ref}' needs {error.schema['description']}.")
        elif any(str(part).lower() in secret_names for part in error.absolute_path):
            problems.append(
                f"Connection '{ref}' field '{where}' does not satisfy its '{error.validator}'"
                f" rule ({MASK} hidden)."
            )
        elif error.validator in _DESCRIBED and error.schema.get("description"):
            problems.append(
                f"Connection '{ref}' field '{where}': {masker.mask(repr(error.instance))} is not"
                f" {error.schema['description']}."
            )
        else:
            problems.append(f"Connection '{ref}' field '{where}': {masker.mask(error.message)}.")
    return list(dict.fromkeys(problems))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def _guessed_secret_fields(values: Mapping[str, Any]) -> list[str]:
    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items():
                if _GUESSED_SECRET.search(str(key)):
                    names.append(str(key))
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(values)
    return names
