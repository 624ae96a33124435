"""One connection's doctor check, bounded in time, its outcome masked.

Shared by ``osiris connections doctor`` and the chat and MCP tools, so every caller gets the same
categories, timeout and masking.
"""

from __future__ import annotations

import threading
import time
from typing import Any


def check_connection(
    loaded: Any, registry: Any, family: str, alias: str, timeout: float
) -> dict[str, Any]:
    """Resolve and check one connection; every failure becomes a categorised result."""
    from osiris.errors import OsirisError
    from osiris.masking import Masker

    ref = f"@{family}.{alias}"
    base = {"ref": ref, "family": family, "alias": alias, "latency_ms": None, "details": {}}
    try:
        resolved = loaded.resolve(ref, registry)
    except OsirisError as exc:
        return {**base, "ok": False, "category": "config", "message": str(exc)}
    family_obj = registry.family(family)
    masker = Masker(resolved.secret_values, family_obj.secret_fields)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = family_obj.doctor(resolved.values)
        except Exception as exc:  # a family's bug is reported as its check's failure
            outcome["error"] = exc

    started = time.perf_counter()
    worker = threading.Thread(target=run, name=f"doctor-{ref}", daemon=True)
    worker.start()
    worker.join(timeout)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if worker.is_alive():
        return {
            **base,
            "ok": False,
            "category": "timeout",
            "message": f"No answer within {timeout:g} s.",
            "latency_ms": elapsed_ms,
        }
    if "error" in outcome:
        exc = outcome["error"]
        message = masker.mask(f"The check raised {type(exc).__name__}: {exc}")
        return {**base, "ok": False, "category": "unknown", "message": message}
    result = outcome["result"]
    return {
        **base,
        "ok": bool(result.ok),
        "category": result.category,
        "message": masker.mask(str(result.message)),
        "latency_ms": result.latency_ms if result.latency_ms is not None else elapsed_ms,
        "details": masker.mask_obj(dict(result.details or {})),
    }
