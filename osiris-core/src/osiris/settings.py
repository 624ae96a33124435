"""Project settings: ``osiris.yaml`` sections resolved with their source.

Each setting comes from the first of: a CLI flag, an ``OSIRIS_<SECTION>_<KEY>`` environment
variable, the project's ``osiris.yaml``, the default in the section's JSON Schema. Plugins declare
their sections through ``register_settings``; the source of every value is kept so ``osiris
validate`` and the AIOP can say where a setting came from. No secret belongs here: keys are named
by their environment variable (``api_key_env``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from osiris.errors import InvalidInputError

SETTINGS_FILE = "osiris.yaml"
Source = Literal["CLI", "ENV", "YAML", "DEFAULT"]


@dataclass(frozen=True)
class SettingsSection:
    """One top-level key of ``osiris.yaml`` (``llm``, ``e2b``, ...) and its JSON Schema.

    Each property's ``default`` is the value used when nothing else sets it.
    """

    name: str
    schema: Mapping[str, Any]
    distribution: str | None = None

    @property
    def keys(self) -> list[str]:
        return list(self.schema.get("properties", {}))

    def default(self, key: str) -> Any:
        return self.schema["properties"][key].get("default")

    def types(self, key: str) -> set[str]:
        declared = self.schema["properties"][key].get("type", "string")
        return {declared} if isinstance(declared, str) else set(declared)


CORE_SECTIONS = (
    SettingsSection(
        "aiop",
        {
            "type": "object",
            "properties": {
                "enabled": {
                    "type": "boolean",
                    "default": True,
                    "description": "Export the AI Operation Package at the end of every run.",
                },
                "max_core_bytes": {
                    "type": "integer",
                    "minimum": 10000,
                    "default": 300000,
                    "description": "Size bound of aiop.json; longer streams go to the annex.",
                },
                "annex_gzip": {
                    "type": "boolean",
                    "default": False,
                    "description": "Gzip the annex's full event and metric streams.",
                },
                "annex": {
                    "type": "boolean",
                    "default": True,
                    "description": "Write the full event and metric streams to aiop/annex/.",
                },
                "runcard": {
                    "type": "boolean",
                    "default": True,
                    "description": "Write aiop/runcard.md, a Markdown summary of the run.",
                },
            },
            "additionalProperties": False,
        },
        "osiris-core",
    ),
    SettingsSection(
        "discovery",
        {
            "type": "object",
            "properties": {
                "samples": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 100,
                    "default": 5,
                    "description": "Sample rows per table that discovery keeps.",
                },
            },
            "additionalProperties": False,
        },
        "osiris-core",
    ),
)
"""The sections osiris-core itself declares (registered by its builtin plugin)."""


@dataclass
class Settings:
    """Resolved settings of every declared section, each value with its source."""

    values: dict[str, dict[str, tuple[Any, Source]]]
    path: Path | None = None
    undeclared: dict[str, Any] = field(default_factory=dict)
    """Sections of osiris.yaml that no installed package declares (kept as written)."""

    def get(self, section: str, key: str) -> Any:
        return self._entry(section, key)[0]

    def source(self, section: str, key: str) -> Source:
        return self._entry(section, key)[1]

    def section(self, name: str) -> dict[str, Any]:
        if name not in self.values:
            raise KeyError(f"no settings section '{name}' is declared")
        return {key: value for key, (value, _) in self.values[name].items()}

    def effective(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{section: {key: {"value", "source"}}}``, sorted, for ``validate`` and the AIOP."""
        return {
            name: {key: {"value": v, "source": s} for key, (v, s) in sorted(keys.items())}
            for name, keys in sorted(self.values.items())
        }

    def _entry(self, section: str, key: str) -> tuple[Any, Source]:
        try:
            return self.values[section][key]
        except KeyError:
            raise KeyError(f"no setting '{section}.{key}' is declared") from None


def load_settings(
    *,
    cli: Mapping[str, Mapping[str, Any]] | None = None,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    sections: list[SettingsSection] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    plugin_manager: Any = None,
) -> Settings:
    """Resolve every declared section. ``cli`` holds flag values (``None`` means not given)."""
    env = os.environ if environ is None else environ
    if sections is None:
        sections = installed_sections(plugin_manager)
    declared = {s.name: s for s in sections}
    file_path = find_settings_file(path, environ=env, cwd=cwd)
    written = _read(file_path) if file_path else {}
    values: dict[str, dict[str, tuple[Any, Source]]] = {}
    for name, section in declared.items():
        from_file = written.get(name) or {}
        if not isinstance(from_file, Mapping):
            raise InvalidInputError(
                f"'{name}' in {file_path} must be a mapping of settings, not {from_file!r}."
            )
        unknown = sorted(set(from_file) - set(section.keys))
        if unknown:
            raise InvalidInputError(
                f"Unknown setting '{name}.{unknown[0]}' in {file_path}.",
                hint=f"Known keys of '{name}': {', '.join(section.keys)}.",
            )
        flags = (cli or {}).get(name) or {}
        values[name] = {
            key: _resolve(section, key, flags, env, from_file, file_path) for key in section.keys
        }
        _check_section(section, values[name], file_path)
    undeclared = {k: v for k, v in written.items() if k not in declared}
    return Settings(values, file_path, undeclared)


def installed_sections(plugin_manager: Any = None) -> list[SettingsSection]:
    """Sections of core and every loaded plugin, each tagged with its distribution."""
    from osiris.plugins import get_plugin_manager

    pm = plugin_manager or get_plugin_manager()
    found: list[SettingsSection] = []
    seen: dict[str, str] = {}
    for impl in pm.hook.register_settings.get_hookimpls():
        info = pm.infos.get(impl.plugin_name)
        distribution = info.distribution if info else None
        for section in impl.function() or []:
            if section.name in seen:
                raise InvalidInputError(
                    f"Settings section '{section.name}' is declared by both {seen[section.name]}"
                    f" and {distribution}."
                )
            seen[section.name] = str(distribution)
            if section.distribution is None:
                section = SettingsSection(section.name, section.schema, distribution)
            found.append(section)
    return found


def find_settings_file(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Path | None:
    """``path`` if given (it must exist), else ``$OSIRIS_HOME/osiris.yaml``, else ``./osiris.yaml``."""
    env = os.environ if environ is None else environ
    base = Path(cwd) if cwd is not None else Path.cwd()
    if path is not None:
        chosen = Path(path) if Path(path).is_absolute() else base / path
        if not chosen.is_file():
            raise InvalidInputError(f"Settings file {chosen} does not exist.")
        return chosen
    candidates = (
        [Path(env["OSIRIS_HOME"]).expanduser() / SETTINGS_FILE] if env.get("OSIRIS_HOME") else []
    )
    candidates.append(base / SETTINGS_FILE)
    return next((c for c in candidates if c.is_file()), None)


def env_name(section: str, key: str) -> str:
    return f"OSIRIS_{section}_{key}".upper()


def _resolve(
    section: SettingsSection,
    key: str,
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    from_file: Mapping[str, Any],
    file_path: Path | None,
) -> tuple[Any, Source]:
    if flags.get(key) is not None:
        return flags[key], "CLI"
    variable = env_name(section.name, key)
    if variable in env:
        return _parse_env(variable, env[variable], section.types(key)), "ENV"
    if key in from_file:
        return from_file[key], "YAML"
    return section.default(key), "DEFAULT"


def _parse_env(variable: str, text: str, types: set[str]) -> Any:
    """An environment string read as the setting's schema type."""
    stripped = text.strip()
    if "null" in types and stripped.lower() in ("", "null", "none"):
        return None
    if "boolean" in types:
        lowered = stripped.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    if "integer" in types:
        try:
            return int(stripped)
        except ValueError:
            pass
    if "number" in types:
        try:
            number = float(stripped)
        except ValueError:
            pass
        else:
            if number == number and number not in (float("inf"), float("-inf")):
                return number
    if "string" in types:
        return text
    expected = " or ".join(sorted(types - {"null"}))
    raise InvalidInputError(f"{variable}={text!r} is not a valid {expected}.")


def _check_section(
    section: SettingsSection, values: Mapping[str, tuple[Any, Source]], file_path: Path | None
) -> None:
    """Validate resolved values against the section's schema; name where a bad value came from."""
    import jsonschema

    resolved = {key: value for key, (value, _) in values.items()}
    validator = jsonschema.Draft202012Validator(section.schema)
    error = next(iter(sorted(validator.iter_errors(resolved), key=lambda e: list(e.path))), None)
    if error is None:
        return
    key = str(error.path[0]) if error.path else None
    if key is None:
        raise InvalidInputError(f"Settings section '{section.name}': {error.message}.")
    source = values[key][1]
    where = {
        "CLI": "the command-line flag",
        "ENV": env_name(section.name, key),
        "YAML": f"{file_path}",
        "DEFAULT": "the default",
    }[source]
    raise InvalidInputError(
        f"Setting '{section.name}.{key}' from {where} is invalid: {error.message}."
    )


def _read(path: Path) -> dict[str, Any]:
    import yaml

    from osiris.connections.loader import _strict_loader

    try:
        raw = yaml.load(path.read_bytes().decode("utf-8-sig"), Loader=_strict_loader())
    except UnicodeDecodeError:
        raise InvalidInputError(f"Settings file {path} is not UTF-8 text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInputError(
            f"Settings file {path} is not valid YAML{where}: {problem}."
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f"Settings file {path} must be a mapping of sections (llm:, e2b:, ...)."
        )
    return {str(k): v for k, v in raw.items()}
