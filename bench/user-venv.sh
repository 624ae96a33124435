#!/usr/bin/env bash
# Builds bench/.venv: what a user who installs the connectors gets, without the test tools of the
# workspace .venv. pandas in particular is left out: Osiris does not depend on it, but pyarrow
# imports it whenever it is installed (about +58 MiB of RSS and 0.4 s per process).
# Run the benchmarks with it: bench/.venv/bin/python bench/mysql_to_parquet.py
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null  # uv and the MySQL client headers
[ -x bench/.venv/bin/python ] || uv venv --quiet --python "${PYTHON:-python3}" bench/.venv
fast=osiris-driver-mysql
if pkg-config --exists mariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then
  fast="osiris-driver-mysql[fast]"
fi
uv pip install --quiet --compile-bytecode --python bench/.venv/bin/python \
  -e osiris-core -e osiris-driver-filesystem -e "$fast" -e osiris-driver-supabase
echo "bench: bench/.venv ready ($(bench/.venv/bin/osiris --version))"
