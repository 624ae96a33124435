"""``.osiris/last_compile.json``: the newest compile, for ``osiris run --last-compile``.

Written by every compile a person asks for (``osiris compile``, the MCP ``compile`` tool) and read
by ``osiris run --last-compile``, all relative to the project directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

LAST_COMPILE = Path(".osiris") / "last_compile.json"


def record_last_compile(manifest_path: Path, root: Path = Path(".")) -> Path:
    """Atomically point ``<root>/.osiris/last_compile.json`` at the new manifest."""
    pointer = root / LAST_COMPILE
    pointer.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=pointer.parent, prefix=".last_compile.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"manifest": str(manifest_path.resolve())}, fh)
        fh.write("\n")
    os.replace(tmp, pointer)
    return pointer
