"""Wheels built from the installed distributions: complete, deterministic, cached, importable."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from osiris_remote_e2b.wheels import Wheel, build_wheel, template_has


def test_the_core_wheel_holds_the_package_and_its_metadata(tmp_path):
    wheel = build_wheel("osiris-core", tmp_path)
    assert wheel.name == "osiris-core" and wheel.path.name.startswith("osiris_core-")
    names = zipfile.ZipFile(wheel.path).namelist()
    info = f"osiris_core-{wheel.version}.dist-info"
    for needed in ("osiris/worker.py", "osiris/schemas/events.schema.json", f"{info}/METADATA"):
        assert needed in names, needed
    assert f"{info}/entry_points.txt" in names and f"{info}/RECORD" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_builds_are_deterministic_and_cached(tmp_path):
    first = build_wheel("osiris-core", tmp_path / "a")
    again = build_wheel("osiris-core", tmp_path / "a")
    other = build_wheel("osiris-core", tmp_path / "b")
    assert first.sha256 == again.sha256 == other.sha256
    assert first.path == again.path
    assert first.path.parent.name.startswith(f"osiris_core-{first.version}-")


def test_an_unpacked_wheel_is_what_python_imports(tmp_path):
    wheel = build_wheel("osiris-core", tmp_path / "cache")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "zipfile", "-e", str(wheel.path), str(site)], check=True)
    probe = (
        "import json, osiris, importlib.metadata as m;"
        "print(json.dumps([osiris.__file__, m.version('osiris-core'),"
        " sorted(e.name for e in m.entry_points(group='console_scripts'))]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path, version, scripts = json.loads(out)
    assert path.startswith(str(site)) and version == wheel.version and "osiris" in scripts


def test_a_template_is_trusted_only_for_released_versions(tmp_path):
    released = Wheel("osiris-core", "0.1.0", tmp_path / "w.whl", "0" * 64, local=False)
    from_tree = Wheel("osiris-core", "0.1.0", tmp_path / "w.whl", "0" * 64, local=True)
    assert template_has([released], {"osiris-core": "0.1.0"})
    assert not template_has([released], {"osiris-core": "0.0.9"})
    assert not template_has([released], {"osiris-core": None})
    assert not template_has([from_tree], {"osiris-core": "0.1.0"})
