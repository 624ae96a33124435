"""Compiles a validated OML pipeline into ``manifest.yaml``, ``cfg/<step>.json`` and ``meta.json``.

Everything emitted is a pure function of the OML file, the parameters and the used components,
so compiling twice gives the same bytes: no timestamps, no absolute paths, no secrets (connection
references stay symbolic). Output is written to a temporary sibling directory and swapped in,
so a failed compile never leaves half an output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris import __version__
from osiris.compiler.canonical import fingerprint, pretty_json
from osiris.errors import InvalidInputError
from osiris.oml import Issue, Pipeline, load_pipeline

COMPILER_FORMAT = 1
"""Bumped when the layout or meaning of the compiled output changes."""
OUTPUT_FILES = ("manifest.yaml", "meta.json", "cfg")


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    manifest_path: Path
    manifest: dict[str, Any]
    meta: dict[str, Any]
    warnings: list[Issue] = field(default_factory=list)


def compile_pipeline(
    oml_path: str | Path,
    out_dir: str | Path,
    *,
    profile: str | None = None,
    params: Mapping[str, str] | None = None,
    registry: Any = None,
    env: Mapping[str, str] | None = None,
) -> CompileResult:
    """Validate ``oml_path`` and write the compiled pipeline to ``out_dir``.

    Raises ``OmlValidationError`` (with every issue) when the pipeline is invalid.
    """
    if registry is None:
        from osiris.registry import build_registry

        registry = build_registry()
    pipeline = load_pipeline(oml_path, registry, profile=profile, params=params, env=env)
    out = Path(out_dir)
    manifest, meta, cfgs = build_output(pipeline, Path(oml_path), out)
    _write_atomically(out, manifest, meta, cfgs)
    return CompileResult(out, out / "manifest.yaml", manifest, meta, list(pipeline.warnings))


def build_output(
    pipeline: Pipeline, oml_path: Path, out: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """The manifest, meta and per-step configs, as data."""
    used = sorted(pipeline.components.values(), key=lambda c: c.name)
    fingerprints = {
        "oml_fp": fingerprint(pipeline.data),
        "params_fp": fingerprint(pipeline.params),
        "registry_fp": fingerprint(
            [
                {
                    "name": c.name,
                    "version": c.spec.get("version"),
                    "spec": dict(c.spec),
                    "distribution": c.distribution,
                    "distribution_version": c.version,
                }
                for c in used
            ]
        ),
        "compiler_fp": fingerprint(compiler_identity()),
    }
    header: dict[str, Any] = {"name": pipeline.name}
    if pipeline.description is not None:
        header["description"] = pipeline.description
    header.update(
        {
            "oml_version": pipeline.data["oml_version"],
            "source": _relative(oml_path, out),
            "profile": pipeline.profile,
            "fingerprints": fingerprints,
        }
    )
    steps = []
    cfgs = {}
    for step in pipeline.ordered_steps():
        component = pipeline.components[step.component]
        steps.append(
            {
                "id": step.id,
                "component": step.component,
                "mode": step.spec_mode,
                "driver": component.driver,
                "plugin": {"distribution": component.distribution, "version": component.version},
                "cfg_path": f"cfg/{step.id}.json",
                "needs": list(step.needs),
                "connection": step.connection,
            }
        )
        cfgs[step.id] = step.config
    manifest = {"pipeline": header, "steps": steps}
    meta = {
        "compiler": {"name": "osiris-core", "version": __version__},
        "fingerprints": {**fingerprints, "manifest_fp": fingerprint(manifest)},
        "params": pipeline.params,
    }
    return manifest, meta, cfgs


def compiler_identity() -> dict[str, Any]:
    return {"name": "osiris-core", "version": __version__, "format": COMPILER_FORMAT}


def _relative(oml_path: Path, out: Path) -> str:
    """The OML file as seen from the output directory (posix), so the pair can move together."""
    return Path(os.path.relpath(oml_path.resolve(), out.resolve())).as_posix()


def _dump_yaml(value: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml; same output, faster
    return yaml.dump(
        value,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def _write_atomically(
    out: Path, manifest: dict[str, Any], meta: dict[str, Any], cfgs: dict[str, dict[str, Any]]
) -> None:
    """Fill a temporary sibling directory, then swap it in place of ``out``."""
    if out.exists() and not _replaceable(out):
        raise InvalidInputError(
            f"Output directory {out} exists and is not a previous compile output.",
            hint="Choose another --out directory or empty this one.",
        )
    _make_parent(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / "cfg").mkdir()
        for step_id, config in cfgs.items():
            (staging / "cfg" / f"{step_id}.json").write_text(pretty_json(config), encoding="utf-8")
        (staging / "manifest.yaml").write_text(_dump_yaml(manifest), encoding="utf-8")
        (staging / "meta.json").write_text(pretty_json(meta), encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a compile output is ordinary files
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            try:
                os.replace(staging, out)
            except OSError:
                os.replace(old / out.name, out)  # put the previous output back
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _make_parent(out: Path) -> None:
    """Create ``out``'s parent; a file in the way (``--out notes.txt/x``) is one sentence."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in out.parents if p.exists()), None)
        reason = (
            f"{blocking} is a file"
            if blocking is not None and not blocking.is_dir()
            else exc.strerror or type(exc).__name__
        )
        raise InvalidInputError(
            f"Cannot create the output directory {out}: {reason}.",
            hint="Choose another --out directory.",
        ) from None


def _replaceable(out: Path) -> bool:
    """An empty directory, or one holding only what a compile writes."""
    if not out.is_dir():
        return False
    return all(child.name in OUTPUT_FILES for child in out.iterdir())
