#!/usr/bin/env bash
# Sets everything up and runs the bundled movies demo (CSV → DuckDB → Parquet and CSV); needs no
# database server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd examples/movies
../../.venv/bin/osiris run pipeline.yaml
echo "Outputs: $(pwd)/output/ (director_stats and top_rated, each as .parquet and .csv)"
