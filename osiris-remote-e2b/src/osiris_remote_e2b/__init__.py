"""Osiris plugin: The e2b execution adapter."""

__version__ = "0.1.0"
