"""Opening sessions: one place that turns a connection entry into a pinned, predictable session.

Every session is pinned to ``time_zone='+00:00'`` and utf8mb4 so TIMESTAMP values and 4-byte
characters survive, whatever the server's defaults are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def _ssl(connection: Mapping[str, Any]) -> dict[str, Any] | None:
    """TLS options: ``ssl: true`` encrypts without verifying; ``ca`` verifies the server.

    ``verify_cert: false`` keeps encryption but skips verification even with a ``ca``.
    """
    import ssl as ssl_module

    options = connection.get("ssl")
    if not options:
        return None
    if options is True:
        return {"check_hostname": False}
    result = {k: options[k] for k in ("ca", "cert", "key") if options.get(k)}
    if options.get("verify_cert") is False:
        result.update(check_hostname=False, verify_mode=ssl_module.CERT_NONE)
    return result or {"check_hostname": False}


def _session_init(charset: str) -> str:
    return f"SET NAMES {charset}, time_zone = '+00:00'"


def connect_kwargs(connection: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments shared by pymysql and mysqlclient."""
    charset = connection.get("charset", "utf8mb4")
    if not _NAME.match(charset):
        raise ValueError(f"charset '{charset}' is not a valid character set name")
    kwargs: dict[str, Any] = {
        "host": connection.get("host", "127.0.0.1"),
        "port": int(connection.get("port", 3306)),
        "user": connection.get("user", "root"),
        "password": connection.get("password") or "",
        "charset": charset,
        "connect_timeout": int(connection.get("connect_timeout", 10)),
        "init_command": _session_init(charset),
    }
    if connection.get("database"):
        kwargs["database"] = connection["database"]
    ssl = _ssl(connection)
    if ssl:
        kwargs["ssl"] = ssl
    return kwargs


def connect_pymysql(connection: Mapping[str, Any], **extra: Any) -> Any:
    """A pymysql connection (metadata, writes, doctor); ``extra`` e.g. ``local_infile=True``."""
    import pymysql

    return pymysql.connect(**connect_kwargs(connection), autocommit=True, **extra)


def connect_raw_reader(connection: Mapping[str, Any]) -> tuple[Any, Any]:
    """A connection that returns raw text (no per-value conversion) and its streaming cursor class.

    mysqlclient (C) when installed, about twice as fast as pymysql; pymysql otherwise. Both hand
    back every value as ``bytes`` (UTF-8 for text, as the session's charset is utf8mb4): no
    decoding per value; the string columns are validated as UTF-8 when cast as a whole.
    The session is utf8mb4 whatever ``charset`` says: any other character set would turn
    characters it cannot hold (emoji under ``utf8``) into ``?`` before they reach the client.
    """
    kwargs = connect_kwargs({**connection, "charset": "utf8mb4"})
    try:
        import MySQLdb
        import MySQLdb.cursors
    except ImportError:
        import pymysql
        import pymysql.cursors

        conn = pymysql.connect(**kwargs, conv={}, use_unicode=False, autocommit=True)
        return conn, pymysql.cursors.SSCursor
    kwargs["passwd"] = kwargs.pop("password")
    if "ssl" in kwargs:  # mysqlclient takes file paths only; it verifies when a ca is given
        kwargs["ssl"] = {k: v for k, v in kwargs["ssl"].items() if k in ("ca", "cert", "key")}
    if "database" in kwargs:
        kwargs["db"] = kwargs.pop("database")
    conn = MySQLdb.connect(**kwargs, conv={}, use_unicode=False, autocommit=True)
    return conn, MySQLdb.cursors.SSCursor


def validate_table_name(name: str) -> tuple[str | None, str]:
    """``table`` or ``database.table`` with plain identifier characters; raises ValueError."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_NAME.match(p) for p in parts):
        raise ValueError(
            f"table '{name}' is not a valid name (letters, digits, _ and $; optionally db.table)"
        )
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def quote_ident(name: str) -> str:
    """Backtick-quote one identifier (column names from Arrow may hold any character)."""
    if not name or len(name) > 64 or "\x00" in name:
        raise ValueError(f"'{name}' is not a valid MySQL identifier")
    return "`" + name.replace("`", "``") + "`"


def quote_table(name: str) -> str:
    schema, table = validate_table_name(name)
    return f"{quote_ident(schema)}.{quote_ident(table)}" if schema else quote_ident(table)
