"""Local files a pipeline reads and writes, and their mirror in the sandbox.

Every host path ``/p`` has one sandbox path, ``<home>/osiris/fs/p``; the uploaded manifest points
the pipeline's directory at the mirror of the host's, so relative paths, globs and connection
``base_dir`` resolve in the sandbox exactly as here. Filesystem extractors' input files are
uploaded before the run; filesystem writers' targets are downloaded after it to the very paths a
local run writes. Which steps touch local files is known by their component family.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest, StepSpec

LOCAL_FILE_FAMILY = "filesystem."
"""Components of this family read (mode extract) or write (mode write) config ``path``."""
_GLOB = re.compile(r"[*?\[]")


@dataclass
class FilePlan:
    inputs: list[Path] = field(default_factory=list)
    """Host files the pipeline's extractors read: uploaded to their mirror."""
    outputs: dict[str, Path] = field(default_factory=dict)
    """Writer step id -> the host file it writes: downloaded when the step succeeded."""
    dirs: list[Path] = field(default_factory=list)
    """Host directories that exist here and must exist in the sandbox (the pipeline's directory,
    writers' parents): a writer without ``create_dirs`` then fails or succeeds as it would here."""


class Mirror:
    """Host path <-> sandbox path."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def __call__(self, host: Path) -> str:
        return self.root + str(Path(host).resolve())


def plan_files(plan: Manifest, ctx: ExecutionContext) -> FilePlan:
    files = FilePlan(dirs=[plan.base_dir])
    for step in plan.steps:
        if not step.component.startswith(LOCAL_FILE_FAMILY) or "path" not in step.config:
            continue
        base = _base_dir(step, plan, ctx)
        raw = os.path.expanduser(str(step.config["path"]))
        if step.mode == "write":
            target = (base / raw).resolve()
            files.outputs[step.id] = target
            if target.parent.is_dir():
                files.dirs.append(target.parent)
        elif _GLOB.search(raw):
            matches = sorted(base / p for p in glob.glob(raw, root_dir=base, recursive=True))
            files.inputs.extend(p.resolve() for p in matches if p.is_file())
        elif (base / raw).is_file():
            files.inputs.append((base / raw).resolve())
    files.inputs = sorted(set(files.inputs))
    files.dirs = sorted(set(files.dirs))
    return files


def _base_dir(step: StepSpec, plan: Manifest, ctx: ExecutionContext) -> Path:
    """As the filesystem drivers resolve it: the connection's base_dir, else the pipeline's."""
    if step.connection and step.connection.startswith("@filesystem"):
        base = ctx.resolve_connection(step.connection).values.get("base_dir")
        if base:
            return (plan.base_dir / os.path.expanduser(str(base))).resolve()
    return plan.base_dir
