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
apt_install() {  # apt_install PACKAGE WHY: a Debian package, where we can (root and apt-get)
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; } || return 1
  echo "setup: installing $1 ($2)"
  apt-get install -y -q "$1" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$1" >/dev/null 2>&1; }
}
# mysqlclient (the MySQL driver's optional C reader, about twice as fast) builds against the
# MariaDB client headers; without them the driver reads with pymysql.
have_mysql_headers() { pkg-config --exists mariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; }
have_mysql_headers || apt_install libmariadb-dev "for mysqlclient" \
  || echo "setup: libmariadb-dev could not be installed; the MySQL driver reads with pymysql"
# PgBouncer stands in for Supabase's transaction pooler in the supabase driver's tests.
have_pgbouncer() { command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; }
have_pgbouncer || apt_install pgbouncer "the transaction-pooler tests" \
  || echo "setup: pgbouncer could not be installed; the transaction-pooler tests will skip"
# Debian's Chromium renders the HTML run reports in the browser tests (driven by Playwright;
# Playwright's own browser download cannot work offline).
[ -x /usr/bin/chromium ] || apt_install chromium "the report browser tests" \
  || echo "setup: chromium could not be installed; the report browser tests will skip"
editable=()
for p in "${PACKAGES[@]}"; do
  if [ "$p" = osiris-driver-mysql ] && have_mysql_headers; then
    editable+=(-e "$p[fast]")
  else
    editable+=(-e "$p")
  fi
done
uv pip install --quiet --python .venv/bin/python "${editable[@]}" -r requirements-dev.txt
echo "setup: .venv ready ($(.venv/bin/osiris --version))"
