#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, then every package's tests and the
# cross-package tests against the real local MariaDB and PostgreSQL.
# Extra arguments go to pytest (e.g. scripts/test.sh -k mysql -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -p no:cacheprovider osiris-*/tests tests "$@"
