"""Osiris: an LLM-first ETL framework.

Plugin authors need only ``from osiris import hookimpl``; everything heavy is imported where used
so that ``import osiris`` and ``osiris --help`` stay fast.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("osiris")
"""Marker for plugin hook implementations (``@hookimpl def register_components(): ...``)."""

__all__ = ["__version__", "hookimpl"]
