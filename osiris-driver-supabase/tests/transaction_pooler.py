"""A real transaction pooler for the tests: PgBouncer in transaction mode on 127.0.0.1:6543.

Supabase's transaction pooler (Supavisor, port 6543) hands each transaction whatever server
connection is free, so nothing a session leaves behind (prepared statements, temp tables,
settings) is there in the next transaction. PgBouncer with ``pool_mode = transaction`` and
``DISCARD ALL`` after every transaction makes that loss certain instead of occasional, so a test
that passes through it cannot be leaning on session state by luck.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PORT = 6543
INSTALL = "apt-get install pgbouncer"

CONFIG = """\
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
server_reset_query = DISCARD ALL
server_reset_query_always = 1
logfile = {log}
pidfile =
"""


def executable() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def _accepting(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class TransactionPooler:
    """Starts PgBouncer in the foreground as a child; ``dsn`` reaches database ``test`` through it."""

    def __init__(self, binary: str, port: int = PORT) -> None:
        self.binary, self.port = binary, port
        # PgBouncer refuses to run as root; as root it switches to the postgres user, which must
        # be able to read its files: a world-readable directory of its own.
        self.dir = Path(tempfile.mkdtemp(prefix="osiris-pgbouncer-"))
        self.dir.chmod(0o755)
        self.log = self.dir / "pgbouncer.log"
        self.proc: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def start(self) -> None:
        if _accepting(self.port):
            raise RuntimeError(f"port {self.port} is already taken; stop what listens there")
        users = self.dir / "users.txt"
        users.write_text('"postgres" ""\n')
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(CONFIG.format(port=self.port, users=users, log=self.log))
        for path in (users, ini):
            path.chmod(0o644)
        self.log.touch(mode=0o666)
        self.log.chmod(0o666)
        argv = [self.binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(ini)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not _accepting(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pgbouncer did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
