"""A package nobody in this repository knows about shows up once installed with an entry point.

Builds a fresh virtual environment holding only osiris-core and tests/fixtures/acme_plugin, then
asks the installed `osiris` command what it sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS")
    }
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


@pytest.mark.slow
def test_installed_third_party_plugin_appears(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("uv is required for this test; scripts/setup.sh installs it")
        pytest.skip("uv is not installed; run scripts/setup.sh (it installs uv)")
    venv = tmp_path / "venv"
    made = _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "-e",
        ROOT / "osiris-core",
        "-e",
        ROOT / "tests" / "fixtures" / "acme_plugin",
    )
    assert installed.returncode == 0, installed.stderr
    osiris = venv / "bin" / "osiris"

    listing = _run(osiris, "components", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    by_name = {c["name"]: c for c in json.loads(listing.stdout)}
    assert sorted(by_name) == ["acme.echo", "duckdb.processor"]  # only what is installed here
    assert (by_name["acme.echo"]["distribution"], by_name["acme.echo"]["version"]) == (
        "acme-osiris-echo",
        "0.3.0",
    )

    plugins = {p["name"]: p for p in json.loads(_run(osiris, "plugins", "--json").stdout)}
    assert plugins["acme"]["distribution"] == "acme-osiris-echo"
    assert plugins["acme"]["hooks"] == ["register_components"]

    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        'oml_version: "0.1.0"\nname: echo\nsteps:\n'
        "  - id: make\n    component: duckdb.processor\n    mode: transform\n    needs: []\n"
        "    config: {query: SELECT 1 AS x}\n"
        "  - id: echo\n    component: acme.echo\n    mode: transform\n    needs: [make]\n"
        "    config: {prefix: hi}\n"
    )
    compiled = _run(
        osiris, "compile", pipeline, "--out", tmp_path / "compiled", "--json", cwd=tmp_path
    )
    assert compiled.returncode == 0, compiled.stderr
    manifest = (tmp_path / "compiled" / "manifest.yaml").read_text()
    assert "driver: acme_osiris_echo.echo:Echo" in manifest
    assert "distribution: acme-osiris-echo" in manifest

    ran = _run(osiris, "run", pipeline, "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["ok"] is True and summary["steps"]["echo"]["rows"] == 1
