#!/usr/bin/env bash
# Sets up a working checkout from scratch: a .venv holding every package of the workspace
# (editable) plus the test tools, and the local MariaDB and PostgreSQL the tests use.
# Safe to run again: it only installs or starts what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PACKAGES=(osiris-core osiris-driver-filesystem osiris-driver-mysql osiris-driver-supabase osiris-remote-e2b osiris-llm)

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv (fast Python installer)"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
[ -x .venv/bin/python ] || uv venv --quiet --python "$PYTHON" .venv
editable=()
for p in "${PACKAGES[@]}"; do editable+=(-e "$p"); done
uv pip install --quiet --python .venv/bin/python "${editable[@]}" -r requirements-dev.txt
echo "setup: .venv ready ($(.venv/bin/osiris --version))"
