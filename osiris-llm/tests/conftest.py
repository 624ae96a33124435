"""Fixtures of osiris-llm's tests: a project using the memtest test plugin (see testplugin/).

The plugin is made visible as an installed distribution by putting ``testplugin/`` on
``sys.path`` here and on ``PYTHONPATH`` for servers the tests spawn, so these tests need
nothing but osiris-core and osiris-llm.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PLUGIN_PATH = HERE / "testplugin"
for entry in (PLUGIN_PATH, HERE):  # the plugin, and llm_support for the test modules
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from llm_support import SECRET, TABLES  # noqa: E402


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with memtest data, a connections file and the token in .env."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "data.json").write_text(json.dumps(TABLES), encoding="utf-8")
    (root / "token.txt").write_text(SECRET, encoding="utf-8")
    (root / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  memtest:\n    default:\n"
        f"      path: {root / 'data.json'}\n      token: ${{MEMTEST_TOKEN}}\n",
        encoding="utf-8",
    )
    (root / ".env").write_text(f"MEMTEST_TOKEN={SECRET}\n", encoding="utf-8")
    for var in ("OSIRIS_HOME", "OSIRIS_LOGS_DIR", "OSIRIS_LOAD_PLUGINS", "MEMTEST_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(PLUGIN_PATH), os.environ.get("PYTHONPATH", "")])
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)  # the project is found through its directory, not the cwd
    return root
