"""OML v0.1.0 validation: every problem of a pipeline at once, each with a path and a fix.

The checks run in one pass over the parsed document and never stop at the first problem, so a
user (or an LLM) can fix a file in one go. The result is a ``Pipeline`` the compiler consumes.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.components import Component
from osiris.errors import InvalidInputError, RegistryError
from osiris.oml.configschema import config_problems
from osiris.oml.graph import find_cycles, topological_order
from osiris.oml.issues import Issue, OmlValidationError, PathPart, allowed_hint, format_path
from osiris.oml.params import resolve_params, substitute
from osiris.oml.secrets import is_literal, is_secret_name, literal_secrets
from osiris.oml.yamlload import Document, load_document

OML_VERSION = "0.1.0"
TOP_LEVEL = ("oml_version", "name", "description", "metadata", "params", "profiles", "steps")
FORBIDDEN = {
    "version": 'use oml_version: "0.1.0"',
    "connectors": "define connections in osiris_connections.yaml and reference them from a"
    " step's config as connection: '@family.alias'",
    "tasks": "use steps: (a list of steps with id, component, mode, config)",
    "outputs": "add a step with mode: write that writes the data where you want it",
}
STEP_KEYS = ("id", "name", "description", "component", "mode", "config", "needs")
MODES = {"read": "extract", "write": "write", "transform": "transform"}
"""OML mode → the component spec's mode."""
DATA_MODES = ("read", "transform")
STEP_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
SQL_DIALECTS = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "supabase": "postgres",
    "postgres": "postgres",
}
"""Component family prefix → lexical rules for the read-only query check."""


@dataclass(frozen=True)
class Step:
    """A validated step; ``config`` has its ``${params.x}`` substituted."""

    id: str
    component: str
    mode: str
    config: dict[str, Any]
    needs: tuple[str, ...]
    implicit_needs: bool
    index: int

    @property
    def spec_mode(self) -> str:
        return MODES[self.mode]

    @property
    def connection(self) -> str | None:
        ref = self.config.get("connection")
        return ref if isinstance(ref, str) else None


@dataclass
class Pipeline:
    """A valid OML pipeline, ready to compile."""

    file: str
    base_dir: Path
    name: str
    description: str | None
    steps: list[Step]
    params: dict[str, Any]
    profile: str | None
    data: dict[str, Any]
    """The parsed file as written (before parameter substitution): what ``oml_fp`` hashes."""
    components: dict[str, Component]
    """The components the steps use, by name."""
    warnings: list[Issue] = field(default_factory=list)

    def ordered_steps(self) -> list[Step]:
        """Topological order; ties go to the step declared first."""
        by_id = {s.id: s for s in self.steps}
        order = topological_order([s.id for s in self.steps], {s.id: s.needs for s in self.steps})
        return [by_id[i] for i in order]


def load_pipeline(
    path: str | Path,
    registry: Any = None,
    *,
    profile: str | None = None,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Pipeline:
    """Parse and validate ``path``; raises ``OmlValidationError`` listing every error."""
    document = load_document(path)
    pipeline, issues = validate_document(
        document, registry, profile=profile, params=params, env=env
    )
    if pipeline is None:
        raise OmlValidationError(document.file, issues)
    return pipeline


def validate_document(
    document: Document,
    registry: Any = None,
    *,
    profile: str | None = None,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Pipeline | None, list[Issue]]:
    """All issues of ``document``; the ``Pipeline`` only when there is no error."""
    if registry is None:
        from osiris.registry import build_registry

        registry = build_registry()
    checker = _Checker(document, registry)
    pipeline = checker.run(profile, params, os.environ if env is None else env)
    issues = sorted(
        checker.issues, key=lambda i: (i.severity != "error", i.line or 0, i.column or 0)
    )
    if any(i.severity == "error" for i in issues):
        return None, issues
    assert pipeline is not None
    pipeline.warnings = [i for i in issues if i.severity == "warning"]
    return pipeline, issues


@dataclass
class _Draft:
    """What is known about one step while checking it."""

    index: int
    id: str | None = None
    component: Component | None = None
    mode: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    needs: list[str] | None = None


class _Checker:
    def __init__(self, document: Document, registry: Any) -> None:
        self.doc = document
        self.registry = registry
        self.issues: list[Issue] = []

    def add(
        self, path: tuple[PathPart, ...], message: str, fix: str = "", severity: str = "error"
    ) -> None:
        line, column = self.doc.position(path)
        self.issues.append(Issue(format_path(path), message, fix, severity, line, column))  # type: ignore[arg-type]

    def run(
        self, profile: str | None, cli: Mapping[str, str] | None, env: Mapping[str, str]
    ) -> Pipeline | None:
        data = self.doc.data
        self._top_level(data)
        self._non_finite(data, ())  # all of it is hashed into oml_fp; config goes to cfg/*.json
        resolution = resolve_params(
            data, profile=profile, cli=cli, env=env, position=self.doc.position
        )
        self.issues.extend(resolution.issues)
        for name, value in resolution.values.items():
            if is_secret_name(name) and is_literal(value):
                self.add(
                    ("params", name),
                    f"parameter '{name}' looks like a secret; parameter values are written to meta.json",
                    "put the secret in osiris_connections.yaml and reference the connection with config.connection: '@family.alias'",
                )
        raw_steps = data.get("steps")
        if raw_steps is None:
            self.add((), "required key 'steps' is missing", "add steps: with at least one step")
            return None
        if not isinstance(raw_steps, list) or not raw_steps:
            self.add(
                ("steps",),
                "steps must be a non-empty list",
                "add steps: - id: ... component: ... mode: ...",
            )
            return None
        substituted = substitute(
            raw_steps, resolution.values, ("steps",), self.issues, self.doc.position
        )
        drafts = [self._step(i, step) for i, step in enumerate(substituted)]
        ids = self._unique_ids(drafts)
        needs = self._needs(drafts, ids)
        self._input_names(drafts, needs)
        self._cycles(drafts, needs)
        self._incremental(drafts, needs)
        if any(i.severity == "error" for i in self.issues):
            return None
        steps = [
            Step(
                d.id,
                d.component.name,
                d.mode,
                d.config,
                tuple(needs[d.id]),
                d.needs is None,
                d.index,
            )  # type: ignore[arg-type, union-attr]
            for d in drafts
        ]
        return Pipeline(
            file=self.doc.file,
            base_dir=self.doc.base_dir,
            name=data["name"],
            description=data.get("description"),
            steps=steps,
            params=resolution.values,
            profile=profile,
            data=data,
            components={d.component.name: d.component for d in drafts},  # type: ignore[union-attr]
        )

    # -- top level -------------------------------------------------------------------------

    def _top_level(self, data: dict[str, Any]) -> None:
        for key in data:
            if key in FORBIDDEN:
                self.add((key,), f"'{key}' is not an OML v0.1.0 key", FORBIDDEN[key])
            elif key not in TOP_LEVEL:
                self.add((key,), f"unknown top-level key '{key}'", allowed_hint(key, TOP_LEVEL))
        if "oml_version" not in data:
            self.add(
                (),
                "required key 'oml_version' is missing",
                'add oml_version: "0.1.0" as the first line',
            )
        elif data["oml_version"] != OML_VERSION:
            self.add(
                ("oml_version",),
                f'oml_version must be "{OML_VERSION}", got {data["oml_version"]!r}',
                f'write oml_version: "{OML_VERSION}" (quoted)',
            )
        name = data.get("name")
        if "name" not in data:
            self.add((), "required key 'name' is missing", "add name: my-pipeline")
        elif not isinstance(name, str) or not name.strip():
            self.add(("name",), "name must be a non-empty string", "add name: my-pipeline")
        if "description" in data and not isinstance(data["description"], str | None):
            self.add(("description",), "description must be text", "write description: a sentence")
        if "metadata" in data and not isinstance(data["metadata"], dict | None):
            self.add(("metadata",), "metadata must be a mapping", "write metadata: {owner: me}")

    # -- one step --------------------------------------------------------------------------

    def _step(self, index: int, raw: Any) -> _Draft:
        draft = _Draft(index)
        here: tuple[PathPart, ...] = ("steps", index)
        if not isinstance(raw, dict):
            self.add(
                here,
                "a step must be a mapping with id, component, mode and config",
                "write - id: extract_x  component: mysql.extractor  mode: read  config: {...}",
            )
            return draft
        for key in raw:
            if key == "inputs":
                self.add(
                    (*here, key),
                    "'inputs' is not supported",
                    "list upstream step ids under needs: instead",
                )
            elif key not in STEP_KEYS:
                self.add((*here, key), f"unknown step key '{key}'", allowed_hint(key, STEP_KEYS))
        draft.id = self._step_id(raw, here)
        draft.component = self._component(raw, here)
        draft.mode = self._mode(raw, here, draft.component)
        config = raw.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, dict):
            self.add((*here, "config"), "config must be a mapping", "write config: {key: value}")
            config = {}
        draft.config = config
        if "needs" in raw:
            draft.needs = self._needs_list(raw["needs"], (*here, "needs"))
        secret_paths = self._literal_secrets(config, (*here, "config"), draft.component)
        config = draft.config = self._connection(config, (*here, "config"), draft.component)
        if draft.component is not None:
            self._config_schema(config, (*here, "config"), draft.component, secret_paths)
            self._query_policy(config, (*here, "config"), draft.component)
        return draft

    def _step_id(self, raw: dict[str, Any], here: tuple[PathPart, ...]) -> str | None:
        key = "id" if "id" in raw else "name" if "name" in raw else None
        if key is None:
            self.add(here, "the step has no id", "add id: a short name such as extract_movies")
            return None
        value = raw[key]
        if not isinstance(value, str) or not STEP_ID.fullmatch(value):
            self.add(
                (*here, key),
                f"step id {value!r} is not valid",
                "use 1-128 letters, digits, '_', '-' or '.', not starting with '.' or '-' (it names files)",
            )
            return None
        return value

    def _component(self, raw: dict[str, Any], here: tuple[PathPart, ...]) -> Component | None:
        name = raw.get("component")
        if name is None:
            self.add(
                here,
                "the step has no component",
                "add component: e.g. mysql.extractor (see `osiris components list`)",
            )
            return None
        if not isinstance(name, str):
            self.add(
                (*here, "component"),
                "component must be a name like mysql.extractor",
                "see `osiris components list`",
            )
            return None
        try:
            return self.registry.component(name)
        except RegistryError as exc:
            self.add((*here, "component"), exc.message.rstrip("."), exc.hint or "")
            return None

    def _mode(
        self, raw: dict[str, Any], here: tuple[PathPart, ...], component: Component | None
    ) -> str | None:
        supported = [m for m, spec in MODES.items() if component and spec in component.modes]
        choices = "|".join(supported or MODES)
        mode = raw.get("mode")
        if mode is None:
            self.add(here, "the step has no mode", f"add mode: {choices}")
            return None
        if not isinstance(mode, str) or mode not in MODES:  # a list or mapping is not hashable
            hint = " (OML calls it read)" if mode == "extract" else ""
            self.add(
                (*here, "mode"),
                f"mode must be read, write or transform, got {mode!r}{hint}",
                f"use mode: {choices}",
            )
            return None
        if component is not None and MODES[mode] not in component.modes:
            can = ", ".join(supported) or "none of read, write, transform"
            self.add(
                (*here, "mode"),
                f"component '{component.name}' does not support mode '{mode}'; it supports: {can}",
                f"use mode: {choices}, or pick a component that can {mode}",
            )
            return None
        return mode

    def _needs_list(self, value: Any, where: tuple[PathPart, ...]) -> list[str] | None:
        if isinstance(value, str):
            self.add(where, "needs must be a list of step ids", f"write needs: [{value}]")
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(
                where, "needs must be a list of step ids", "write needs: [extract_x, extract_y]"
            )
            return None
        return list(value)

    def _non_finite(self, value: Any, where: tuple[PathPart, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                self._non_finite(v, (*where, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._non_finite(v, (*where, i))
        elif isinstance(value, float) and not math.isfinite(value):
            self.add(
                where, f"{value} is not a finite number", "use a finite number or quote it as text"
            )

    def _literal_secrets(
        self, config: dict[str, Any], where: tuple[PathPart, ...], component: Component | None
    ) -> set[tuple[PathPart, ...]]:
        """Secrets never appear in OML: they live in osiris_connections.yaml."""
        found = literal_secrets(config, component.secret_pointers if component else ())
        for rel in sorted(found, key=str):
            self.add(
                (*where, *rel),
                f"'{rel[-1]}' holds a literal secret; secrets must not be written in a pipeline",
                "remove it, put it in osiris_connections.yaml (e.g. password: ${MYSQL_PASSWORD}) and set"
                " config.connection: '@family.alias'",
            )
        return found

    def _connection(
        self, config: dict[str, Any], where: tuple[PathPart, ...], component: Component | None
    ) -> dict[str, Any]:
        """Checks ``config.connection``; the legacy ``@default`` becomes ``@<component family>``."""
        if "connection" not in config:
            return self._default_connection(config, where, component)
        from osiris.connections import parse_reference

        where = (*where, "connection")
        try:
            family, alias = parse_reference(config["connection"])
        except InvalidInputError:
            self.add(
                where,
                f"connection must be a reference like '@mysql.default', got {_brief(config['connection'])}",
                "write connection: '@family.alias' (or '@family' for its default) and define it in osiris_connections.yaml",
            )
            return config
        if family == "default" and alias is None and component is not None:
            family = component.name.split(".", 1)[0]
            self.add(
                where,
                f"'@default' is read as '@{family}', the default {family} connection",
                f"write connection: '@{family}' (or '@{family}.<alias>')",
                "warning",
            )
            config = {**config, "connection": f"@{family}"}
        try:
            self.registry.family(family)
        except RegistryError as exc:
            self.add(where, exc.message.rstrip("."), exc.hint or "")
        return config

    def _default_connection(
        self, config: dict[str, Any], where: tuple[PathPart, ...], component: Component | None
    ) -> dict[str, Any]:
        """A component that takes a connection and gets none uses its family's default."""
        if component is None or "connection" not in (
            component.config_schema.get("properties") or {}
        ):
            return config
        family = component.name.split(".", 1)[0]
        if family not in self.registry.families:
            return config
        self.add(
            where,
            f"no connection given: using '@{family}', the default {family} connection",
            f"write connection: '@{family}.<alias>' to choose one",
            "warning",
        )
        return {**config, "connection": f"@{family}"}

    def _config_schema(
        self,
        config: dict[str, Any],
        where: tuple[PathPart, ...],
        component: Component,
        secrets: set[tuple[PathPart, ...]],
    ) -> None:
        for path, message, fix in config_problems(config, component, secrets):
            self.add((*where, *path), message, fix)

    def _query_policy(
        self, config: dict[str, Any], where: tuple[PathPart, ...], component: Component
    ) -> None:
        if component.spec.get("x-query-policy") != "read-only" or not isinstance(
            config.get("query"), str
        ):
            return
        from osiris.sqlguard import read_only_problem

        dialect = SQL_DIALECTS.get(component.name.split(".", 1)[0])
        problem = read_only_problem(config["query"], dialect=dialect)
        if problem:
            self.add(
                (*where, "query"),
                problem.rstrip("."),
                f"{component.name} only reads; write data with a step in mode: write",
            )

    # -- across steps ----------------------------------------------------------------------

    def _unique_ids(self, drafts: list[_Draft]) -> dict[str, _Draft]:
        ids: dict[str, _Draft] = {}
        folded: dict[str, _Draft] = {}
        for d in drafts:
            if d.id is None:
                continue
            key = ("steps", d.index, "id")
            if d.id in ids:
                self.add(
                    key,
                    f"duplicate step id '{d.id}' (also steps[{ids[d.id].index}])",
                    "give every step its own id",
                )
            elif d.id.lower() in folded:
                other = folded[d.id.lower()]
                self.add(
                    key,
                    f"step id '{d.id}' differs from '{other.id}' (steps[{other.index}]) only by case",
                    "step ids name files; make them differ by more than case",
                )
            else:
                ids[d.id] = d
                folded[d.id.lower()] = d
        return ids

    def _needs(self, drafts: list[_Draft], ids: dict[str, _Draft]) -> dict[str, list[str]]:
        """Explicit needs checked against the ids; implicit ones inferred (with a warning)."""
        resolved: dict[str, list[str]] = {}
        producer: _Draft | None = None
        for d in drafts:
            where = ("steps", d.index, "needs")
            if d.needs is not None:
                valid = []
                for i, upstream in enumerate(d.needs):
                    if upstream == d.id:
                        self.add((*where, i), f"step '{d.id}' needs itself", "remove it from needs")
                    elif upstream not in ids:
                        self.add(
                            (*where, i),
                            f"needs unknown step '{upstream}'",
                            allowed_hint(upstream, [s for s in ids if s != d.id]),
                        )
                    elif upstream not in valid:
                        valid.append(upstream)
                if d.mode == "write" and not d.needs:
                    self.add(
                        where,
                        f"write step '{d.id}' has no input",
                        "list the step whose data it writes under needs:",
                    )
                deps = valid
            elif d.mode in ("write", "transform"):
                if producer is None or producer.id is None:
                    self.add(
                        ("steps", d.index),
                        f"{d.mode} step '{d.id}' has no input: no step before it produces data",
                        "add needs: [step_id]"
                        + (
                            " or needs: [] for a transform without inputs"
                            if d.mode == "transform"
                            else ""
                        ),
                    )
                    deps = []
                else:
                    deps = [producer.id]
                    self.add(
                        ("steps", d.index),
                        f"needs is implicit: '{d.id}' depends on '{producer.id}', the nearest preceding step that produces data",
                        f"add needs: [{producer.id}] to make it explicit",
                        "warning",
                    )
            else:
                deps = []
            if d.id is not None and ids.get(d.id) is d:
                resolved[d.id] = deps
            if d.mode in DATA_MODES and d.id is not None and ids.get(d.id) is d:
                producer = d  # a step refused for its id (a case twin) produces nothing to need
        return resolved

    def _input_names(self, drafts: list[_Draft], needs: dict[str, list[str]]) -> None:
        """Two needs that become one ``df_`` table name would hand the step only one of them."""
        from osiris.stepdata import input_name

        for d in drafts:
            seen: dict[str, str] = {}
            for upstream in needs.get(d.id or "", []):
                name = input_name(upstream)
                if name in seen:
                    self.add(
                        ("steps", d.index, "needs"),
                        f"'{seen[name]}' and '{upstream}' would both be the input table {name}",
                        "rename one of those steps so their ids differ in letters or digits",
                    )
                seen.setdefault(name, upstream)

    def _cycles(self, drafts: list[_Draft], needs: dict[str, list[str]]) -> None:
        ids = list(needs)
        index = {d.id: d.index for d in drafts if d.id in needs}
        for cycle in find_cycles(ids, needs):
            spelled = " -> ".join(cycle)
            self.add(
                ("steps", index[cycle[0]], "needs"),
                f"steps form a cycle: {spelled}",
                "remove one of these needs so data flows one way",
            )

    def _incremental(self, drafts: list[_Draft], needs: dict[str, list[str]]) -> None:
        """An incremental step's mark is stored when the writes it feeds commit: it must feed
        one, and with a lookback (rows read again) none of them may append duplicates."""
        consumers: dict[str, list[str]] = {}
        for step_id, deps in needs.items():
            for dep in deps:
                consumers.setdefault(dep, []).append(step_id)
        by_id = {d.id: d for d in drafts if d.id is not None}
        for d in drafts:
            spec = d.config.get("incremental")
            if not isinstance(spec, dict) or d.id is None:
                continue
            fed: list[str] = []
            todo = list(consumers.get(d.id, []))
            while todo:
                current = todo.pop(0)
                if current not in fed:
                    fed.append(current)
                    todo.extend(consumers.get(current, []))
            writers = [by_id[s] for s in fed if s in by_id and by_id[s].mode == "write"]
            where = ("steps", d.index, "config", "incremental")
            if not writers:
                self.add(
                    where,
                    f"incremental step '{d.id}' feeds no write step, so its mark would move on"
                    " without the rows being stored anywhere",
                    "add a write step that needs it, or remove incremental",
                )
            elif spec.get("lookback") is not None:
                for writer in writers:
                    if _write_mode(writer) == "append":
                        self.add(
                            (*where, "lookback"),
                            f"lookback reads rows again, and write step '{writer.id}' appends:"
                            " they would be written twice",
                            f"write with upsert in '{writer.id}', or remove lookback",
                        )


def _write_mode(draft: _Draft) -> str | None:
    """The effective ``mode``/``write_mode`` of a writer whose schema has append/upsert."""
    props = ((draft.component.config_schema if draft.component else {}) or {}).get("properties")
    for key in ("mode", "write_mode"):
        prop = (props or {}).get(key)
        if isinstance(prop, dict) and "append" in (prop.get("enum") or []):
            return draft.config.get(key, prop.get("default"))
    return None


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
