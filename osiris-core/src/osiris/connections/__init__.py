"""Named connections: ``@family.alias`` references resolved from ``osiris_connections.yaml``.

Pipelines only ever hold the symbolic reference; values (and secrets) are resolved at run time
so compiled output and logs never contain them.
"""

from __future__ import annotations

from osiris.connections.loader import (
    CONNECTIONS_FILE,
    ConnectionListing,
    Connections,
    ResolvedConnection,
    load_connections,
    secret_values,
)
from osiris.connections.reference import parse_reference

__all__ = [
    "CONNECTIONS_FILE",
    "ConnectionListing",
    "Connections",
    "ResolvedConnection",
    "load_connections",
    "parse_reference",
    "secret_values",
]
