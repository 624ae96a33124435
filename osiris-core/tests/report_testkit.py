"""Runs that reports are made from: real sessions written by the real runner.

Adds to ``runner_testkit``'s components a source whose row count comes from the environment
(so one compiled manifest can give different rows on its next run, for the delta), a chatty
driver that logs many events (for the size limit), and a writer that reports ``rows_verified``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import runner_testkit
from osiris import hookimpl
from osiris.components import Component
from osiris.registry import build_registry
from osiris.runner.run import run_manifest

MODULE = __name__


class EnvSource:
    """Extractor: ``REPORT_ROWS`` rows (else ``rows``), after ``events`` driver events."""

    def run(self, *, step_id, config, inputs, ctx):
        rows = int(os.environ.get("REPORT_ROWS") or config.get("rows", 5))
        for i in range(int(config.get("events", 0))):
            ctx.log_event("chunk_read", chunk=i, note="x" * int(config.get("pad", 40)))
        ctx.log_metric("rows_read", rows, unit="rows")
        return {"df": pa.table({"id": list(range(rows))})}


class VerifiedWriter:
    """Writer: counts its input, reports rows_written and rows_verified, keeps an artifact."""

    def run(self, *, step_id, config, inputs, ctx):
        total = sum(batch.num_rows for data in inputs.values() for batch in data.reader())
        (ctx.artifacts_dir / "written.txt").write_text(f"{total}\n")
        ctx.log_metric("rows_written", total, unit="rows")
        ctx.log_metric("rows_verified", total, unit="rows")
        return {}


def _component(name: str, mode: str, driver: str) -> Component:
    spec = {
        "name": name,
        "version": "0.1.0",
        "modes": [mode],
        "configSchema": {"type": "object"},
        "x-runtime": {"driver": f"{MODULE}:{driver}"},
    }
    return Component(name=name, spec=spec, driver=f"{MODULE}:{driver}")


@hookimpl
def register_components():
    return [
        _component("rk.source", "extract", "EnvSource"),
        _component("rk.verified_writer", "write", "VerifiedWriter"),
    ]


def registry():
    """runner_testkit's components and families plus these."""
    pm = runner_testkit.plugin_manager()
    pm.register_plugin(sys.modules[MODULE], MODULE, "osiris-report-testkit", "0.1.0")
    return build_registry(pm)


BRANCHES_OML = """\
oml_version: "0.1.0"
name: branches
description: Two sources, each written twice; one branch may fail.
metadata:
  intent: copy both sources into the warehouse and count them
  chat_session: chat_20261122T041500Z_7a1b2c
steps:
  - id: read-a
    component: rk.source
    mode: read
    config: {rows: 7, events: EVENTS}
  - id: read-b
    component: kit.synthetic
    mode: read
    config: {rows: 1234, fail: FAIL}
  - id: write-a
    component: rk.verified_writer
    mode: write
    needs: [read-a]
  - id: write-b
    component: kit.counter
    mode: write
    needs: [read-b]
  - id: count-b
    component: kit.counter
    mode: write
    needs: [read-b]
"""


def branches_oml(tmp_path: Path, *, fail: str | bool = False, events: int = 2) -> Path:
    """The OML above with ``read-b`` failing (``fail`` is its error) or not."""
    text = BRANCHES_OML.replace("EVENTS", str(events))
    text = text.replace("FAIL", "false" if fail is False else f'"{fail}"')
    path = tmp_path / "branches.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def compile_and_run(oml: Path, logs_dir: Path, **options: Any):
    """Compile ``oml`` into a build folder and run it through the library API."""
    from osiris.compiler import compile_pipeline

    reg = registry()
    compiled = compile_pipeline(oml, oml.parent / "build", registry=reg)
    return run_manifest(compiled.manifest_path, logs_dir=logs_dir, registry=reg, **options)


@contextmanager
def chat_session() -> Iterator[Any]:
    """A chat-like session written through the real ``Session``.

    The chat's events are osiris-llm's to declare in the events schema, so it lives outside
    pytest's tmp folders, whose event lines core's conftest checks against that schema.
    """
    from osiris.session import Session

    root = Path(tempfile.mkdtemp(prefix="osiris-report-chat-"))
    session = Session(root, kind="chat")
    session.event("chat_state", **{"from": "INIT", "to": "INTENT_CAPTURED"})
    session.event("chat_message", role="user", content="copy movies to supabase")
    session.event("llm_request", model="gpt-test", tokens_in=812)
    session.event("llm_response", model="gpt-test", tokens_out=96, latency_ms=420)
    session.event("tool_call", tool="discover", arguments={"connection": "@mysql.movies"})
    session.event(
        "chat_proposal", oml="oml_version: '0.1.0'\nname: movies\nsteps: []\n", valid=True
    )
    session.event("chat_message", role="assistant", content="Here is a pipeline.")
    session.close()
    try:
        yield session
    finally:
        shutil.rmtree(root, ignore_errors=True)
