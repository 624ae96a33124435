#!/usr/bin/env bash
# Sets everything up and runs the bundled movies demo (CSV → DuckDB → Parquet and CSV); needs no
# database server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd examples/movies
../../.venv/bin/osiris run pipeline.yaml
echo "Outputs (examples/movies/output/):"
for f in output/*; do printf '  %s\n' "$f"; done
echo "Read the run again with: .venv/bin/osiris logs show last --logs-dir examples/movies/logs"
