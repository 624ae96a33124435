"""Pipelines the adapter tests run: DuckDB only, so they need osiris-core alone."""

from __future__ import annotations

from pathlib import Path

TWO_STEPS = """\
oml_version: "0.1.0"
name: two-steps
steps:
  - id: numbers
    component: duckdb.processor
    mode: transform
    needs: []
    config:
      query: SELECT range AS n, 'n=' || range AS label FROM range(1000)
  - id: summary
    component: duckdb.processor
    mode: transform
    needs: [numbers]
    config:
      query: SELECT n % 3 AS bucket, count(*) AS how_many, sum(n) AS total FROM df_numbers GROUP BY ALL ORDER BY bucket
"""

SECOND_FAILS = TWO_STEPS.replace("sum(n) AS total", "sum(no_such_column) AS total")

ENDLESS = """\
oml_version: "0.1.0"
name: endless
steps:
  - id: forever
    component: duckdb.processor
    mode: transform
    needs: []
    config:
      query: SELECT sum(range) AS n FROM range(1000000000000)
"""


def write_pipeline(folder: Path, text: str, name: str = "pipeline.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
