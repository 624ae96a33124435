"""The AI Operation Package of a run, as ``osiris logs aiop`` builds it (``osiris.report``)."""

from __future__ import annotations

from typing import Any

from osiris.errors import InvalidInputError

from osiris_llm.operations.runs import find_run
from osiris_llm.operations.workspace import Workspace, masked

FORMATS = ("json", "md")


def get_aiop(ws: Workspace, session: str, *, format: str = "json") -> dict[str, Any]:
    """The AIOP of a run (``json``: the document; ``md``: ``{"runcard": markdown}``), built
    from its session with the project's ``aiop`` settings, masked."""
    from osiris.report.export import build_package
    from osiris.report.settings import aiop_options
    from osiris.settings import load_settings

    if format not in FORMATS:
        raise InvalidInputError(f"The argument 'format' must be json or md, got {format!r}.")
    info = find_run(ws, session)
    settings = load_settings(cwd=ws.project_dir)
    package = build_package(
        info.path, options=aiop_options(settings), effective=settings.effective()
    )
    if format == "md":
        return masked({"session": info.id, "runcard": package.runcard_text})
    return masked(package.doc)
