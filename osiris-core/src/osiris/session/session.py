"""A live session: the directory of one run and the masked writers of its files."""

from __future__ import annotations

import json
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from osiris.masking import Masker, process_masker
from osiris.session.paths import new_session_id, utc_now_iso

Listener = Callable[[str, dict[str, Any]], None]
"""Called with ``("event" | "metric", masked record)`` for every line written (progress, --verbose)."""


class Session:
    """Opens ``<logs_dir>/<session_id>/`` and writes events, metrics, osiris.log and status.json."""

    def __init__(
        self,
        logs_dir: Path,
        *,
        kind: str = "run",
        masker: Masker | None = None,
        pipeline: str | None = None,
        session_id: str | None = None,
    ) -> None:
        """``session_id`` reopens that session to append to it (a chat resumed later)."""
        self.id = session_id or new_session_id(kind)
        self.dir = Path(logs_dir) / self.id
        self.artifacts_dir = self.dir / "artifacts"
        self.artifacts_dir.mkdir(parents=True, exist_ok=session_id is not None)
        self.masker = masker or Masker()
        self.pipeline = pipeline
        self.started_at = utc_now_iso()
        self.clock = time.perf_counter()
        """Monotonic start, for durations that a clock change cannot bend."""
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._files = [
            open(self.dir / name, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            for name in ("events.jsonl", "metrics.jsonl", "osiris.log")
        ]
        events, metrics, text = self._files
        self._events = _logger(events, _render_json)
        self._metrics = _logger(metrics, _render_json)
        self._text = _logger(text, _render_text)

    # -- writing ---------------------------------------------------------------------------------
    def mask(self, value: Any) -> Any:
        """Mask with this session's secrets and every secret resolved in the process."""
        return process_masker.mask_obj(self.masker.mask_obj(value))

    def event(self, name: str, **fields: Any) -> dict[str, Any]:
        record = {"ts": utc_now_iso(), "session": self.id, "event": name, **self.mask(fields)}
        with self._lock:
            self._events.msg(**record)
            self._text.msg(**record)
        self._notify("event", record)
        return record

    def metric(self, name: str, value: float, unit: str | None = None, **tags: Any) -> dict:
        fields = {"value": value, **({"unit": unit} if unit else {}), **tags}
        record = {"ts": utc_now_iso(), "session": self.id, "metric": name, **self.mask(fields)}
        with self._lock:
            self._metrics.msg(**record)
        self._notify("metric", record)
        return record

    def log_exception(self, message: str, exc: BaseException, *, level: str = "error") -> None:
        """Record a traceback in osiris.log only (never in events or on the console)."""
        tb = "".join(traceback.format_exception(exc))
        record = {
            "ts": utc_now_iso(),
            "event": self.mask(message),
            "level": level,
            "traceback": self.mask(tb),
        }
        with self._lock:
            self._text.msg(**record)

    def write_text(self, relative: str, text: str) -> Path:
        """Write a masked text file inside the session (status, copies)."""
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.mask(text), encoding="utf-8")
        return path

    def copy_compiled(self, compiled_dir: Path, manifest_path: Path) -> None:
        """Keep the manifest and cfg next to the logs so a session explains itself."""
        self.write_text("manifest.yaml", manifest_path.read_text(encoding="utf-8"))
        cfg_dir = compiled_dir / "cfg"
        if cfg_dir.is_dir():
            for cfg in sorted(cfg_dir.glob("*.json")):
                self.write_text(f"cfg/{cfg.name}", cfg.read_text(encoding="utf-8"))
        meta = compiled_dir / "meta.json"
        if meta.is_file():
            self.write_text("meta.json", meta.read_text(encoding="utf-8"))

    def write_status(
        self, *, ok: bool, steps: dict[str, dict[str, Any]], error: str | None, **extra: Any
    ) -> dict[str, Any]:
        finished = utc_now_iso()
        status = {
            "ok": ok,
            "session": self.id,
            "pipeline": self.pipeline,
            "started_at": self.started_at,
            "finished_at": finished,
            "duration_ms": _ms_between(self.started_at, finished),
            "steps": steps,
            "error": error,
            **extra,
        }
        masked = {**self.mask(status), "session": self.id}
        path = self.dir / "status.json"
        path.write_text(json.dumps(masked, indent=2, default=str) + "\n", encoding="utf-8")
        return masked

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        _remove_empty(self.artifacts_dir)

    # -- internals ---------------------------------------------------------------------------------
    def _notify(self, kind: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(kind, record)


def _logger(handle: Any, render: Callable) -> Any:
    """A structlog logger writing one rendered line per call (``WriteLogger`` flushes each)."""
    return structlog.wrap_logger(
        structlog.WriteLogger(handle), processors=[render], wrapper_class=structlog.BoundLogger
    )


def _render_json(_logger: Any, _method: str, event_dict: dict[str, Any]) -> str:
    """One JSON line, ``ts``, ``session`` and the name first (structlog appends ``event`` last)."""
    head = {
        key: event_dict.pop(key)
        for key in ("ts", "session", "event", "metric")
        if key in event_dict
    }
    return json.dumps({**head, **event_dict}, default=str, ensure_ascii=False)


def _render_text(_logger: Any, _method: str, event_dict: dict[str, Any]) -> str:
    """osiris.log: ``<ts> <LEVEL> <event> key=value ...`` with tracebacks on following lines."""
    level = str(event_dict.pop("level", "info")).upper()
    tb = event_dict.pop("traceback", None)
    head = f"{event_dict.pop('ts')} {level:5} {event_dict.pop('event', '')}"
    event_dict.pop("session", None)
    pairs = " ".join(
        f"{k}={json.dumps(v, default=str, ensure_ascii=False)}" for k, v in event_dict.items()
    )
    line = f"{head} {pairs}".rstrip()
    return f"{line}\n{tb.rstrip()}" if tb else line


def _ms_between(start_iso: str, end_iso: str) -> int:
    from datetime import datetime

    start = datetime.fromisoformat(start_iso.replace("Z", "+00:00"))
    end = datetime.fromisoformat(end_iso.replace("Z", "+00:00"))
    return int((end - start).total_seconds() * 1000)


def _remove_empty(path: Path) -> None:
    """Drop artifact folders no step wrote into, so the session shows only what exists."""
    if not path.is_dir():
        return
    for child in sorted(path.iterdir()):
        if child.is_dir() and not any(child.rglob("*")):
            shutil.rmtree(child)
