"""A plugin installed here (not from this repository) is shipped as a wheel and its artifacts
come back masked, at the paths a local run gives them.

The plugin is a real installed distribution: a dist-info directory with an ``osiris`` entry point
and a RECORD, on ``sys.path`` (which is all ``pip install`` leaves behind). Its driver writes a
text artifact holding a secret it was given, and a binary one.
"""

from __future__ import annotations

import importlib
import json
import textwrap

from click.testing import CliRunner
from e2b_pipelines import write_pipeline
from osiris.cli.main import cli
from osiris.testing.session_checks import assert_no_secrets
from parity_support import adapter_events, assert_same_run, only_session

SECRET = "artifact-s3cret-77"
FILES = {
    "e2bkit_art/__init__.py": '"""A third-party plugin for the e2b tests."""\n',
    "e2bkit_art/plugin.py": textwrap.dedent("""\
        from osiris import hookimpl
        from osiris.components import Component
        from osiris.families import ConnectionFamily


        class KitFamily(ConnectionFamily):
            name = "e2bkit"
            schema = {"type": "object", "properties": {"token": {"type": "string"}}}
            secret_fields = ("token",)


        @hookimpl
        def register_components():
            return [Component.from_package("e2bkit_art", "e2bkit.artifact")]


        @hookimpl
        def register_connection_families():
            return [KitFamily()]
        """),
    "e2bkit_art/driver.py": textwrap.dedent("""\
        class Artifact:
            def run(self, *, step_id, config, inputs, ctx):
                token = (ctx.connection or {}).get("token", "none")
                (ctx.artifacts_dir / "note.txt").write_text(f"token={token}\\n")
                (ctx.artifacts_dir / "blob.bin").write_bytes(bytes(range(256)))
                ctx.log_event("artifact_written", files=2)
                return {}
        """),
    "e2bkit_art/components/e2bkit.artifact/spec.yaml": textwrap.dedent("""\
        name: e2bkit.artifact
        version: 0.0.1
        title: Artifact writer
        description: Writes two artifacts, one holding its connection's token.
        modes: [transform]
        configSchema:
          type: object
          properties: {connection: {type: string}}
          additionalProperties: false
        x-runtime:
          driver: e2bkit_art.driver:Artifact
        """),
}


def install_plugin(site, monkeypatch) -> None:
    info = site / "e2bkit_art-0.0.1.dist-info"
    info.mkdir(parents=True)
    for name, text in FILES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: e2bkit-art\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[osiris]\ne2bkit = e2bkit_art.plugin\n")
    record = [*FILES, f"{info.name}/METADATA", f"{info.name}/entry_points.txt"]
    (info / "RECORD").write_text("".join(f"{n},,\n" for n in [*record, f"{info.name}/RECORD"]))
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


PIPELINE = """\
oml_version: "0.1.0"
name: artifacts
steps:
  - id: make
    component: e2bkit.artifact
    mode: transform
    needs: []
    config: {connection: "@e2bkit.main"}
"""


def test_a_third_party_plugin_runs_remotely_and_its_artifacts_come_back_masked(
    tmp_path, e2b, monkeypatch
):
    install_plugin(tmp_path / "site", monkeypatch)
    monkeypatch.setenv("E2BKIT_TOKEN", SECRET)
    (tmp_path / "work" / "osiris_connections.yaml").write_text(
        "e2bkit:\n  main:\n    token: ${E2BKIT_TOKEN}\n"
    )
    pipeline = write_pipeline(tmp_path / "project", PIPELINE)
    local = CliRunner().invoke(cli, ["run", str(pipeline), "--logs-dir", str(tmp_path / "local")])
    remote = CliRunner().invoke(
        cli, ["run", str(pipeline), "--e2b", "--logs-dir", str(tmp_path / "remote")]
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    local_dir, remote_dir = only_session(tmp_path / "local"), only_session(tmp_path / "remote")
    assert_same_run(local_dir, remote_dir, ordered=True)  # artifacts byte-identical too
    assert (remote_dir / "artifacts" / "make" / "note.txt").read_text() == "token=***\n"
    assert (remote_dir / "artifacts" / "make" / "blob.bin").read_bytes() == bytes(range(256))
    assert_no_secrets(remote_dir, [SECRET])
    installed = next(e for e in adapter_events(remote_dir) if e["event"] == "deps_installed")
    assert [w["name"] for w in installed["wheels"]] == ["e2bkit-art", "osiris-core"]
    downloaded = next(e for e in adapter_events(remote_dir) if e["event"] == "artifacts_downloaded")
    assert downloaded["files"] == 2
    assert (e2b.envd.home / "osiris" / "site" / "e2bkit_art" / "driver.py").is_file()
    sandbox_note = e2b.envd.home / "osiris" / "run" / "artifacts" / "make" / "note.txt"
    assert sandbox_note.read_text() == "token=***\n"  # the worker masks them too
    collect = [
        json.loads(line)
        for line in (remote_dir / "events.jsonl").read_text().splitlines()
        if '"adapter_collect_complete"' in line
    ]
    assert collect[0]["files"] == 2
