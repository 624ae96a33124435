"""Writing ``<session>/aiop/``: ``aiop.json``, ``runcard.md`` and ``annex/*.ndjson[.gz]``.

Called at the end of every run (``osiris.runner.run.finish_session``) and by ``osiris logs
aiop``. Everything written is a function of the session's files and the settings, so exporting
twice gives the same bytes (gzip members carry no time or name). The package is built in a
temporary sibling directory and swapped in, so a failed export never leaves half a package.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.report.aiop import build_aiop
from osiris.report.budget import fit_to_budget
from osiris.report.delta import compute_delta
from osiris.report.model import Record, SessionView, load_session
from osiris.report.runcard import render_runcard

if TYPE_CHECKING:
    from osiris.session import Session

Mask = Callable[[str], str]
"""Masks secret values in a file's text (``Session.mask`` and ``Masker.mask`` both do)."""


@dataclass
class Package:
    """The AIOP of one session, rendered: file name → bytes, plus the document itself."""

    doc: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def core_text(self) -> str:
        return self.files["aiop.json"].decode("utf-8")

    @property
    def runcard_text(self) -> str:
        return render_runcard(self.doc)


def build_package(
    session_dir: Path,
    *,
    options: dict[str, Any],
    effective: dict[str, Any] | None = None,
    mask: Mask | None = None,
) -> Package:
    """Render the AIOP of ``session_dir`` with the ``aiop`` settings in ``options``."""
    from osiris.masking import process_masker

    mask = mask or process_masker.mask
    view = load_session(Path(session_dir))
    annex = _annex(view, mask, gzip_it=bool(options["annex_gzip"])) if options["annex"] else {}
    size = {
        "max_core_bytes": int(options["max_core_bytes"]),
        "annex": bool(options["annex"]),
        "annex_gzip": bool(options["annex_gzip"]),
    }
    doc = build_aiop(view, delta=compute_delta(view), settings=effective, size=size)
    doc["metadata"]["annex"] = [
        {"file": name, "records": records, "bytes": len(data)}
        for name, (records, data) in annex.items()
    ]
    doc, text = fit_to_budget(doc, size["max_core_bytes"])
    text = mask(text)  # the session was masked when written: this catches anything since
    doc = json.loads(text)
    files = {"aiop.json": text.encode("utf-8")}
    if options["runcard"]:
        files["runcard.md"] = render_runcard(doc).encode("utf-8")
    files.update({name: data for name, (_, data) in annex.items()})
    return Package(doc, files)


def write_package(package: Package, out_dir: Path) -> list[Path]:
    """Replace ``out_dir`` with the package's files; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for name, data in package.files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in package.files]


def package_for(session_dir: Path, *, settings: Any = None, mask: Mask | None = None) -> Package:
    """The AIOP of ``session_dir`` under the project's settings: the library entry point.

    ``settings`` is an ``osiris.settings.Settings`` (loaded from osiris.yaml when omitted);
    ``package.doc`` is the document, ``package.files`` the bytes of every file.
    """
    from osiris.report.settings import aiop_options, load

    settings = settings if settings is not None else load()
    return build_package(
        session_dir, options=aiop_options(settings), effective=settings.effective(), mask=mask
    )


def export_aiop(
    session_dir: Path,
    out_dir: Path | None = None,
    *,
    settings: Any = None,
    mask: Mask | None = None,
) -> list[Path]:
    """Write the AIOP of ``session_dir`` to ``out_dir`` (default ``<session>/aiop``)."""
    package = package_for(session_dir, settings=settings, mask=mask)
    return write_package(package, Path(out_dir) if out_dir else Path(session_dir) / "aiop")


def export_after_run(session: Session) -> None:
    """The automatic export at the end of a run, unless ``aiop.enabled`` is false."""
    from osiris.report.settings import aiop_options, load

    settings = load()
    if not aiop_options(settings)["enabled"]:
        return
    export_aiop(session.dir, settings=settings, mask=session.mask)


def _annex(view: SessionView, mask: Mask, *, gzip_it: bool) -> dict[str, tuple[int, bytes]]:
    """The full event and metric streams, one JSON object per line, each with its evidence id."""
    out = {}
    for name, records in (("events", view.events), ("metrics", view.metrics)):
        data = _ndjson(records, mask)
        if gzip_it:
            out[f"annex/{name}.ndjson.gz"] = (len(records), _gzip(data))
        else:
            out[f"annex/{name}.ndjson"] = (len(records), data)
    return out


def _ndjson(records: list[Record], mask: Mask) -> bytes:
    lines = [json.dumps({"id": r.id, **r.data}, ensure_ascii=False, default=str) for r in records]
    return mask("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def _gzip(data: bytes) -> bytes:
    """gzip without a timestamp or file name in the header: the same input, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as out:
        out.write(data)
    return buffer.getvalue()
