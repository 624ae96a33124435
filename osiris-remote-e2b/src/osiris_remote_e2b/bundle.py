"""The archive a run uploads: compiled pipeline, connection references, run options, input
files (under ``fs/<host path>``) and wheels, with paths relative to the sandbox's ``osiris/``."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest


@dataclass(frozen=True)
class Bundle:
    path: Path
    members: int


def pipeline_bundle(
    plan: Manifest,
    ctx: ExecutionContext,
    *,
    files: Any,
    shipment: Any,
    wheels: list[Any],
    home: str,
    mirror: Any,
) -> Bundle:
    """Write the archive to a temporary file (the caller removes it)."""
    import yaml

    raw = dict(plan.raw)
    pipeline = dict(raw.get("pipeline") or {})
    # the worker resolves relative paths against <compiled>/<source>/..: the host's mirror
    pipeline["source"] = os.path.relpath(
        mirror(plan.base_dir) + "/pipeline.yaml", f"{home}/compiled"
    )
    raw["pipeline"] = pipeline
    texts = {"compiled/manifest.yaml": yaml.safe_dump(raw, sort_keys=False)}
    texts["run_options.json"] = json.dumps(ctx.run_options)
    if shipment.connections_yaml is not None:
        texts["connections.yaml"] = shipment.connections_yaml
    copies = {
        f"compiled/cfg/{s.id}.json": ctx.compiled_dir / f"cfg/{s.id}.json" for s in plan.steps
    }
    copies |= {os.path.relpath(mirror(p), home): Path(p) for p in files.inputs}
    copies |= {f"wheels/{w.path.name}": w.path for w in wheels}
    handle, name = tempfile.mkstemp(prefix="osiris-e2b-", suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for arcname, text in texts.items():
            archive.writestr(arcname, text)
        for arcname, source in copies.items():
            archive.write(source, arcname)
    return Bundle(Path(name), len(texts) + len(copies))
