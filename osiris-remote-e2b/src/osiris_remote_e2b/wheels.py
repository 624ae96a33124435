"""Wheels of exactly the distributions a pipeline uses, built from what is installed here.

A remote run must execute the code the host has: osiris-core and the plugins that provide the
pipeline's components, at the installed versions. Each wheel is assembled from the installed
distribution itself (its metadata, and its files: the RECORD of a normal install, the source tree
of an editable one), with no build backend and no network, deterministically (fixed timestamps,
sorted entries), and cached under ``<cache>/<name>-<version>-<content hash>/``. Only pure-Python
distributions can be shipped this way: that is what Osiris plugins are.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import OsirisError

if TYPE_CHECKING:
    from osiris.registry import Registry
    from osiris.runner.manifest import Manifest

CORE = "osiris-core"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "WHEEL"}


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    path: Path
    sha256: str
    local: bool
    requires: tuple[str, ...] = ()
    """Names of the distributions it depends on (markers for extras excluded)."""
    """Installed from a source tree (editable or a local directory): its code may differ from
    any released version, so a template is never trusted to have it."""

    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def pipeline_distributions(plan: Manifest, registry: Registry) -> list[str]:
    """osiris-core plus the distributions providing the pipeline's components, sorted."""
    names = {CORE}
    for step in plan.steps:
        distribution = registry.component(step.component).distribution
        if distribution:
            names.add(distribution)
    return sorted(names)


def build_wheels(names: list[str], cache_dir: Path) -> list[Wheel]:
    return [build_wheel(name, cache_dir) for name in names]


def build_wheel(name: str, cache_dir: Path) -> Wheel:
    """The wheel of installed distribution ``name``, from the cache when its content is there."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise OsirisError(f"The distribution {name} is not installed here.") from None
    local = _is_local(dist)
    payload = _payload(dist, local)
    meta = _dist_info(dist)
    digest = hashlib.sha256()
    for arcname, data in [*payload, *meta]:
        digest.update(arcname.encode() + b"\0" + _read(data) + b"\0")
    project = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    version = dist.version
    folder = cache_dir / f"{project}-{version}-{digest.hexdigest()[:16]}"
    path = folder / f"{project}-{version}-{_tag(dist)}.whl"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{path.name}.{os.getpid()}.tmp"
        temporary.write_bytes(_zip(project, version, dist, payload, meta))
        os.replace(temporary, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Wheel(dist.metadata["Name"], version, path, sha, local, _requires(dist))


def _requires(dist: metadata.Distribution) -> tuple[str, ...]:
    names = []
    for requirement in dist.requires or ():
        if "extra ==" in requirement.replace(" ", "").replace("extra==", "extra =="):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match:
            names.append(match.group(0))
    return tuple(sorted(set(names)))


def _is_local(dist: metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    if not text:
        return False
    info = json.loads(text)
    return "dir_info" in info or str(info.get("url", "")).startswith("file:")


def _payload(dist: metadata.Distribution, local: bool) -> list[tuple[str, Path]]:
    """``(path in the wheel, file)`` of the importable files, sorted."""
    found: dict[str, Path] = {}
    roots = _editable_roots(dist) if local else []
    if roots:
        for root in roots:
            for entry in sorted(root.iterdir()):
                if entry.name.endswith((".egg-info", ".dist-info")) or entry.name.startswith("."):
                    continue
                if entry.is_dir() and (entry / "__init__.py").is_file():
                    for file in sorted(entry.rglob("*")):
                        if file.is_file() and not _is_cache(file):
                            found[file.relative_to(root).as_posix()] = file
                elif entry.is_file() and entry.suffix == ".py":
                    found[entry.name] = entry
    else:
        for item in dist.files or ():
            text = str(item)
            if text.startswith("..") or ".dist-info/" in text or _is_cache(Path(text)):
                continue
            if text.endswith(".pth"):
                continue
            found[Path(text).as_posix()] = Path(str(dist.locate_file(item)))
    if not found:
        raise OsirisError(f"Found no files of the distribution {dist.metadata['Name']} to ship.")
    if any(name.endswith((".so", ".pyd", ".dylib")) for name in found):
        raise OsirisError(
            f"{dist.metadata['Name']} has compiled extensions; only pure-Python plugins can be"
            " shipped to a sandbox (build a template that has it installed)."
        )
    return sorted(found.items())


def _editable_roots(dist: metadata.Distribution) -> list[Path]:
    """The directories an editable install's ``.pth`` file puts on ``sys.path``."""
    roots = []
    for item in dist.files or ():
        if str(item).endswith(".pth"):
            for line in Path(str(dist.locate_file(item))).read_text().splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ")) and Path(line).is_dir():
                    roots.append(Path(line))
    return roots


def _is_cache(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo")


def _dist_info(dist: metadata.Distribution) -> list[tuple[str, bytes]]:
    """METADATA and the other dist-info files a wheel carries (WHEEL and RECORD are rebuilt)."""
    out = []
    for item in dist.files or ():
        text = str(item)
        if ".dist-info/" in text and Path(text).name not in _SKIPPED_DIST_INFO:
            name = Path(text).name
            if not name.endswith(".json") and not name.startswith("uv_"):
                out.append((name, Path(str(dist.locate_file(item))).read_bytes()))
    if not any(name == "METADATA" for name, _ in out):
        out.append(("METADATA", (dist.read_text("METADATA") or "").encode()))
    return sorted(out)


def _tag(dist: metadata.Distribution) -> str:
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return tags[0] if len(tags) == 1 else "py3-none-any"


def _read(data: Path | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.read_bytes()


def _zip(
    project: str,
    version: str,
    dist: metadata.Distribution,
    payload: list[tuple[str, Path]],
    meta: list[tuple[str, bytes]],
) -> bytes:
    info = f"{project}-{version}.dist-info"
    wheel_file = (
        "Wheel-Version: 1.0\nGenerator: osiris-remote-e2b\nRoot-Is-Purelib: true\n"
        f"Tag: {_tag(dist)}\n"
    ).encode()
    entries: list[tuple[str, bytes]] = [(name, path.read_bytes()) for name, path in payload]
    entries += [(f"{info}/{name}", data) for name, data in meta]
    entries.append((f"{info}/WHEEL", wheel_file))
    record = io.StringIO()
    for name, data in entries:
        hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{name},sha256={hashed},{len(data)}\n")
    record.write(f"{info}/RECORD,,\n")
    entries.append((f"{info}/RECORD", record.getvalue().encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return buffer.getvalue()


def installed_versions_script(names: list[str]) -> str:
    """A Python program printing ``{"python": [major, minor], "versions": {name: version or
    null}}`` for ``names`` in the sandbox's interpreter."""
    return (
        "import json,sys,importlib.metadata as m\n"
        "def v(n):\n"
        " try: return m.version(n)\n"
        " except m.PackageNotFoundError: return None\n"
        "print(json.dumps({'python': list(sys.version_info[:2]),"
        f" 'versions': {{n: v(n) for n in {names!r}}}}}))"
    )


def missing_requirements(wheels: list[Wheel], found: dict[str, Any]) -> list[str]:
    """Dependencies of the wheels that the sandbox's Python does not have (ours excluded)."""
    ours = {_key(w.name) for w in wheels}
    versions = {_key(name): version for name, version in found.items()}
    needed = {_key(r): r for w in wheels for r in w.requires if _key(r) not in ours}
    return sorted(name for key, name in needed.items() if versions.get(key) is None)


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def template_has(wheels: list[Wheel], found: dict[str, Any]) -> bool:
    """True when the sandbox's Python already has every wheel at its version (never for code
    installed here from a source tree: the template cannot be known to hold that code)."""
    return all(not w.local and found.get(w.name) == w.version for w in wheels)
