"""Osiris plugin: MySQL / MariaDB extractor, writer and connection family."""

__version__ = "0.1.0"
