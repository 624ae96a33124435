#!/usr/bin/env bash
# Starts the local MariaDB and PostgreSQL the tests use, if they are stopped (needs root, as on
# the development and CI machines). Prints what it did; never fails the caller by itself.
set -uo pipefail

mariadb_up() { mysqladmin --host=127.0.0.1 --port=3306 --user=root --silent ping >/dev/null 2>&1; }
postgres_up() { pg_isready --host=127.0.0.1 --port=5432 --quiet >/dev/null 2>&1; }

wait_for() {  # wait_for NAME CHECK: poll until CHECK succeeds, at most 30 tries
  for _ in $(seq 30); do "$2" && return 0; sleep 1; done
  echo "services: $1 did not come up" >&2; return 1
}

if ! mariadb_up && command -v /usr/sbin/mariadbd >/dev/null 2>&1; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB mariadb_up
fi
if ! postgres_up && [ -d /etc/postgresql ]; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for PostgreSQL postgres_up
fi
mariadb_up && echo "services: MariaDB up on 127.0.0.1:3306" || echo "services: MariaDB not available"
postgres_up && echo "services: PostgreSQL up on 127.0.0.1:5432" || echo "services: PostgreSQL not available"
exit 0
