"""Connection families: how a kind of connection is described, checked and explored.

A plugin subclasses ``ConnectionFamily``; SDK imports belong inside ``doctor``/``discover`` so the
plugin module stays import-cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

DoctorCategory = Literal["ok", "auth", "network", "timeout", "permission", "config", "unknown"]


@dataclass(frozen=True)
class DoctorResult:
    """Outcome of a connection check; ``category`` tells the user where to look."""

    ok: bool
    category: DoctorCategory
    message: str
    latency_ms: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class ConnectionFamily:
    """Base class for a family such as ``mysql``. Subclasses set the class attributes."""

    name: ClassVar[str]
    schema: ClassVar[Mapping[str, Any]]
    """JSON Schema of one connection entry (after ``${VAR}`` substitution)."""
    secret_fields: ClassVar[tuple[str, ...]] = ()
    """Fields whose values are secrets: masked everywhere, never written to files."""

    def doctor(self, connection: Mapping[str, Any]) -> DoctorResult:
        """Check that the connection works. The default says the family cannot check."""
        return DoctorResult(False, "unknown", f"The '{self.name}' family has no doctor check.")

    def discovery_identity(self, connection: Mapping[str, Any]) -> Mapping[str, Any]:
        """What, inside the secret fields, says where the data is (a DSN's host and database).

        The discovery cache key leaves secret fields out, so without this a changed DSN would be
        served the previous database's cache. Never return the secret parts themselves.
        """
        return {}

    def discover(
        self,
        connection: Mapping[str, Any],
        *,
        tables: list[str] | None = None,
        samples: int = 5,
    ) -> dict[str, Any]:
        """Describe what the connection holds: ``{"tables": [{"name", "columns", ...}]}``."""
        raise NotImplementedError(f"The '{self.name}' family does not support discovery.")
