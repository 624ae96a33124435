"""The local E2B itself, driven by the real SDK: files, commands, the control plane and its 401."""

from __future__ import annotations

import pytest
from e2b_local import API_KEY, local_e2b


def test_debug_mode_files_and_commands(tmp_path, monkeypatch):
    from e2b import Sandbox

    with local_e2b(tmp_path / "home", monkeypatch) as local:
        sandbox = Sandbox.create()
        assert sandbox.sandbox_id == "debug_sandbox_id"
        sandbox.files.write("osiris/a.txt", b"caf\xc3\xa9", use_octet_stream=True)
        assert bytes(sandbox.files.read("osiris/a.txt", format="bytes")) == "café".encode()
        assert (local.envd.home / "osiris" / "a.txt").read_text() == "café"
        assert sandbox.files.make_dir("osiris/x/y") is True
        assert sandbox.files.make_dir("osiris/x/y") is False
        assert sorted(e.name for e in sandbox.files.list("osiris", depth=3)) == ["a.txt", "x", "y"]
        chunks: list[str] = []
        result = sandbox.commands.run("echo out; echo err >&2", on_stdout=chunks.append)
        assert result.exit_code == 0 and "".join(chunks) == "out\n" and result.stderr == "err\n"
        sandbox.files.remove("osiris/x")
        assert not sandbox.files.exists("osiris/x")


def test_paths_outside_the_home_are_refused(tmp_path, monkeypatch):
    from e2b import Sandbox
    from e2b.exceptions import SandboxException

    with local_e2b(tmp_path / "home", monkeypatch):
        sandbox = Sandbox.create()
        with pytest.raises(SandboxException):
            sandbox.files.write(str(tmp_path / "elsewhere.txt"), b"x", use_octet_stream=True)
        assert not (tmp_path / "elsewhere.txt").exists()


def test_control_plane_creates_and_kills(tmp_path, monkeypatch):
    from e2b import Sandbox

    with local_e2b(tmp_path / "home", monkeypatch, debug=False) as local:
        sandbox = Sandbox.create(template="osiris-test", timeout=120)
        assert sandbox.sandbox_id == "sbx0001"
        assert local.control.created[0]["templateID"] == "osiris-test"
        assert local.control.created[0]["timeout"] == 120
        assert sandbox.commands.run("echo $HOME").stdout.strip() == str(local.envd.home)
        sandbox.kill()
        assert local.control.killed == ["sbx0001"]
        assert local.control.api_keys[0] == API_KEY


def test_control_plane_refuses_a_bad_key(tmp_path, monkeypatch):
    from e2b import Sandbox
    from e2b.exceptions import AuthenticationException

    with local_e2b(tmp_path / "home", monkeypatch, debug=False) as local:
        monkeypatch.setenv("E2B_API_KEY", "e2b_wrong")
        with pytest.raises(AuthenticationException):
            Sandbox.create()
        assert local.control.created == []
