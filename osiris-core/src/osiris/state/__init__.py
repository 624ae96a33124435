"""Incremental loads: high-water marks per pipeline and step.

``cursor`` (driver side) turns a step's ``incremental:`` config and the stored mark into the
bound to read from, and tracks the new mark over the rows read. ``store`` keeps marks in
``.osiris/state.sqlite``. ``host`` reads them before a run and commits the new ones after it,
only for extractors whose every downstream write step committed.
"""
