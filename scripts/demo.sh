#!/usr/bin/env bash
# Sets everything up and runs the bundled movies demo (CSV → DuckDB → Parquet and CSV); needs no
# database server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd examples/movies
exec ../../.venv/bin/osiris run pipeline.yaml
