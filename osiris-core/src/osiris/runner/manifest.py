"""Reading a compiled directory (manifest.yaml + cfg/) into the steps the runner executes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.errors import InvalidInputError


@dataclass(frozen=True)
class StepSpec:
    """One compiled step with its configuration loaded from ``cfg/<id>.json``."""

    id: str
    component: str
    mode: str
    config: dict[str, Any]
    needs: tuple[str, ...] = ()
    connection: str | None = None
    driver: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A compiled pipeline: steps in topological order, and where relative paths resolve."""

    name: str
    path: Path
    compiled_dir: Path
    base_dir: Path
    steps: tuple[StepSpec, ...]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.steps if s.id == step_id)

    def consumers(self) -> dict[str, list[str]]:
        """Step id → ids of the steps that need it, in manifest order."""
        out: dict[str, list[str]] = {s.id: [] for s in self.steps}
        for step in self.steps:
            for need in step.needs:
                out[need].append(step.id)
        return out


def load_manifest(path: Path) -> Manifest:
    """Load and check ``manifest.yaml``; a directory means its ``manifest.yaml``."""
    import yaml

    path = Path(path)
    if path.is_dir():
        path = path / "manifest.yaml"
    if not path.is_file():
        raise InvalidInputError(
            f"No compiled manifest at {path}.", hint="Compile first with `osiris compile PIPELINE`."
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"Manifest {path} is not valid YAML: {exc}.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise InvalidInputError(f"Manifest {path} has no 'steps' list; is it a compiled manifest?")
    compiled_dir = path.parent
    pipeline = raw.get("pipeline") or {}
    source = pipeline.get("source")
    base_dir = (compiled_dir / source).resolve().parent if source else compiled_dir.resolve()
    steps = tuple(_step(entry, i, compiled_dir, path) for i, entry in enumerate(raw["steps"]))
    _check_graph(steps, path)
    return Manifest(
        pipeline.get("name") or path.parent.name, path, compiled_dir, base_dir, steps, raw
    )


def _step(entry: Any, index: int, compiled_dir: Path, path: Path) -> StepSpec:
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("component"):
        raise InvalidInputError(f"Manifest {path}: steps[{index}] needs an 'id' and a 'component'.")
    step_id = str(entry["id"])
    cfg_file = compiled_dir / (entry.get("cfg_path") or f"cfg/{step_id}.json")
    try:
        config = json.loads(cfg_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(
            f"Step '{step_id}': its config {cfg_file} is missing.", hint="Recompile the pipeline."
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"Step '{step_id}': {cfg_file} is not valid JSON ({exc})."
        ) from None
    connection = entry.get("connection") or config.get("connection")
    return StepSpec(
        id=step_id,
        component=str(entry["component"]),
        mode=str(entry.get("mode") or ""),
        config=config,
        needs=tuple(str(n) for n in entry.get("needs") or ()),
        connection=connection if isinstance(connection, str) else None,
        driver=entry.get("driver"),
    )


def _check_graph(steps: tuple[StepSpec, ...], path: Path) -> None:
    """Ids unique, every ``needs`` names an earlier step (the compiler emits topological order)."""
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise InvalidInputError(f"Manifest {path}: step id '{step.id}' appears twice.")
        for need in step.needs:
            if need not in seen:
                raise InvalidInputError(
                    f"Manifest {path}: step '{step.id}' needs '{need}', which is not an earlier step."
                )
        seen.add(step.id)


def is_manifest_file(path: Path) -> bool:
    """A compiled manifest (``pipeline:`` header, no ``oml_version``), not an OML file."""
    if path.name == "manifest.yaml":
        return True
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("pipeline"), dict)
        and "oml_version" not in data
    )
