"""Writing the HTML report files: ``<out>/<session_id>.html`` per session and ``index.html``.

The index lists every session of the logs directory and links those whose page is in ``out``,
so rendering one session keeps the pages rendered before reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from osiris.report.html import render_session
from osiris.report.index import render_index
from osiris.report.model import load_session
from osiris.session import SessionInfo, list_sessions

INDEX = "index.html"


@dataclass(frozen=True)
class Written:
    pages: list[Path]
    index: Path


def default_out_dir(logs_dir: Path) -> Path:
    """``<logs>/html``: beside the sessions, ignored by ``logs list`` and ``logs gc``."""
    return Path(logs_dir) / "html"


def write_reports(logs_dir: Path, sessions: list[SessionInfo], out_dir: Path) -> Written:
    """Render ``sessions`` (and the index of all sessions in ``logs_dir``) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    for info in sessions:
        target = out_dir / f"{info.id}.html"
        _write(target, render_session(load_session(info.path), index_href=INDEX))
        pages.append(target)
    everything = list_sessions(Path(logs_dir))
    known = {info.id for info in everything}
    extra = [info for info in sessions if info.id not in known]  # a session given by path
    entries = [
        {
            "view": load_session(info.path, artifacts=False),
            "href": f"{info.id}.html" if (out_dir / f"{info.id}.html").is_file() else None,
        }
        for info in [*extra, *everything]
    ]
    index = out_dir / INDEX
    _write(index, render_index(entries))
    return Written(pages, index)


def _write(path: Path, text: str) -> None:
    """Write next to the target and rename, so a browser never reads half a page.

    The session's files were masked when written; any secret this process has resolved since
    is masked once more on the way out.
    """
    from osiris.masking import process_masker

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(process_masker.mask(text), encoding="utf-8")
    tmp.replace(path)
