"""The e2b adapter's own events: the only lines a remote run adds to a local run's sequence.

Everything else in a remote session (steps, connections, driver events, metrics) is relayed from
``python -m osiris.worker`` in the sandbox, which runs the local runner's code. The parity tests
drop exactly these names (``ADAPTER_EVENTS``) before comparing a remote run with a local one;
docs/reference/events.md documents their fields.
"""

from __future__ import annotations

SANDBOX_CREATED = "sandbox_created"
"""``sandbox_id``, ``template``, ``timeout_s``, ``duration_ms``."""
UPLOAD_COMPLETE = "upload_complete"
"""The pipeline (manifest, cfg, connections references, run options) and the input files:
``files``, ``bytes``, ``duration_ms``."""
DEPS_INSTALLED = "deps_installed"
"""The wheels of the pipeline's distributions: ``wheels`` (name, version, sha256), ``bytes``
uploaded, ``skipped`` (the template has them), ``from_index`` (--e2b-install-deps),
``duration_ms``."""
ARTIFACTS_DOWNLOADED = "artifacts_downloaded"
"""Artifacts and filesystem writers' outputs: ``files``, ``bytes``, ``duration_ms``."""
SANDBOX_CLOSED = "sandbox_closed"
"""``sandbox_id``, ``reason`` (``completed``, ``failed``, ``interrupted``, ``error``),
``duration_ms`` (the sandbox's lifetime)."""

ADAPTER_EVENTS: tuple[str, ...] = (
    SANDBOX_CREATED,
    UPLOAD_COMPLETE,
    DEPS_INSTALLED,
    ARTIFACTS_DOWNLOADED,
    SANDBOX_CLOSED,
)
