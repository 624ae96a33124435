"""Core's own default plugins: the ``local`` execution adapter and ``duckdb.processor``."""
