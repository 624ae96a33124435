"""CPU seconds used by the local database servers, read from /proc (Linux).

On a 2-core machine the client and the server share the cores: a benchmark that reports only the
client's CPU hides half of the bill. ``cpu_seconds("mariadbd")`` before and after a run gives the
server's share. Children a server has reaped (PostgreSQL's per-connection backends) count through
their parent's cutime/cstime.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(*names: str) -> float:
    """User + system CPU of every live process named one of ``names``, with its reaped children."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name in names:
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / TICKS
