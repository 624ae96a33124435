"""The server's own session: every tool call, resource read and prompt, masked, with outcome.

``logs/mcp_<stamp>_<rand>/events.jsonl`` gets ``mcp_start``, one ``mcp_call`` per request and
``mcp_stop``; tracebacks of unexpected errors go to its ``osiris.log`` only.
"""

from __future__ import annotations

import threading
from typing import Any

from osiris.masking import Masker

ARGUMENT_SECRET_FIELDS = ("password", "passwd", "secret", "token", "api_key", "dsn")
MAX_LOGGED_TEXT = 2000
"""Long arguments (OML text) are cut in the log: the file that was saved or run is the record."""


class CallLog:
    """Writes the server's session; safe to call from several threads."""

    def __init__(self, logs_dir: Any, *, transport: str, read_only: bool, project: str) -> None:
        from osiris.session import Session

        self.session = Session(logs_dir, kind="mcp")
        self._masker = Masker(secret_fields=ARGUMENT_SECRET_FIELDS)
        self._lock = threading.Lock()
        self.calls = 0
        self.failures = 0
        self.session.event("mcp_start", transport=transport, read_only=read_only, project=project)

    def call(
        self,
        kind: str,
        name: str,
        arguments: Any,
        *,
        duration_ms: int,
        ok: bool,
        error: str | None = None,
        exc: BaseException | None = None,
    ) -> None:
        """One request: ``kind`` is tool, resource or prompt."""
        with self._lock:
            self.calls += 1
            self.failures += 0 if ok else 1
        self.session.event(
            "mcp_call",
            kind=kind,
            target=name,
            arguments=self._masker.mask_obj(_cut(arguments)),
            duration_ms=duration_ms,
            ok=ok,
            error=error,
        )
        if exc is not None:
            self.session.log_exception(f"{kind} {name} failed", exc)

    def close(self) -> None:
        self.session.event("mcp_stop", calls=self.calls, failures=self.failures)
        self.session.write_status(ok=True, steps={}, error=None, calls=self.calls)
        self.session.close()


def _cut(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_LOGGED_TEXT:
        return value[:MAX_LOGGED_TEXT] + f"... ({len(value)} characters)"
    return value
