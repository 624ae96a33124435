"""Osiris plugin: CSV, Parquet and JSON extractors and writers."""

__version__ = "0.1.0"
