#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, every package's tests and the
# cross-package tests against the real local MariaDB and PostgreSQL, then each package again in
# an environment holding only osiris-core and that package (nox), which proves it installs,
# registers and works without the workspace's extras (pandas, test tools of other packages).
# Extra arguments go to pytest and skip the nox pass (e.g. scripts/test.sh -k mysql -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/pytest -p no:cacheprovider osiris-*/tests tests "$@"
if [ $# -eq 0 ]; then
  .venv/bin/nox --sessions core plugin
fi
