"""What a `supabase` connection entry means: REST endpoint, API key, optional Postgres DSN.

Kept free of SDK imports at module level: `psycopg` and `supabase` load only when a step or a
doctor check actually talks to the service.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from osiris.errors import InvalidInputError

if TYPE_CHECKING:
    import psycopg

TRANSACTION_POOLER_PORT = 6543
"""Supabase's transaction pooler (Supavisor): no session state survives a transaction."""

KEY_FIELDS = ("key", "service_role_key", "anon_key")
DSN_FIELDS = ("db_url", "pg_dsn")


@dataclass(frozen=True)
class Settings:
    """A resolved connection: ``rest_url`` and ``key`` for REST, ``dsn`` for the database."""

    rest_url: str | None
    key: str | None
    dsn: str | None
    schema: str
    timeout: float

    @property
    def transaction_pooler(self) -> bool:
        """True when the DSN points at port 6543, where prepared statements and sessions break."""
        return bool(self.dsn) and dsn_port(self.dsn) == TRANSACTION_POOLER_PORT


def settings_from(connection: Mapping[str, Any] | None, *, step: str = "") -> Settings:
    """Read a connection entry; raise one clear sentence when it cannot be used at all."""
    where = f"Step '{step}': " if step else ""
    if not connection:
        raise InvalidInputError(
            f"{where}no supabase connection was given.",
            hint="Set config.connection to '@supabase.<alias>' and define it in osiris_connections.yaml.",
        )
    url = connection.get("url")
    if not url and connection.get("project_id"):
        url = f"https://{connection['project_id']}.supabase.co"
    key = next((connection[f] for f in KEY_FIELDS if connection.get(f)), None)
    dsn = next((connection[f] for f in DSN_FIELDS if connection.get(f)), None)
    if not (url and key) and not dsn:
        raise InvalidInputError(
            f"{where}the supabase connection needs 'url' (or 'project_id') with 'key', or 'db_url'.",
        )
    return Settings(
        rest_url=str(url).rstrip("/") if url else None,
        key=key,
        dsn=dsn,
        schema=connection.get("schema") or "public",
        timeout=float(connection.get("timeout") or 60),
    )


def dsn_port(dsn: str) -> int | None:
    """The port of a URL or key=value DSN (None when it does not say)."""
    if "://" in dsn:
        try:
            return urlsplit(dsn).port
        except ValueError:
            return None
    for part in dsn.split():
        name, _, value = part.partition("=")
        if name == "port" and value.isdigit():
            return int(value)
    return None


def connect_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments for ``psycopg.connect``. Why: the transaction pooler rejects prepared statements."""
    kwargs: dict[str, Any] = {"connect_timeout": max(1, int(settings.timeout))}
    if settings.transaction_pooler:
        kwargs["prepare_threshold"] = None
    return kwargs


def connect(settings: Settings) -> psycopg.Connection:
    """Open a psycopg 3 connection (autocommit off: every load is one transaction)."""
    import psycopg

    assert settings.dsn
    check_dsn(settings.dsn)
    return psycopg.connect(settings.dsn, **connect_kwargs(settings))


def check_dsn(dsn: str) -> None:
    """Refuse a DSN libpq cannot parse, without its parser's message: that message quotes the DSN
    around the fault, which is often inside the password (``postgresql://u:p@ss@host``)."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(dsn)
    except ProgrammingError:
        raise InvalidInputError(
            "The supabase connection's db_url is not a valid PostgreSQL connection string.",
            hint="Percent-encode special characters in the password (@ as %40, : as %3A,"
            " / as %2F, % as %25), or use the key=value form.",
        ) from None


@contextmanager
def rest_client(settings: Settings, schema: str | None = None) -> Iterator[Any]:
    """A real ``supabase`` client for ``schema``; its HTTP connections close on exit.

    It gets its own ``httpx.Client`` (timeout set there, as supabase-py asks): the connections
    are then ours to close. Writes are retried by the writer, not by the client.
    """
    import httpx
    from supabase import ClientOptions, create_client

    assert settings.rest_url and settings.key
    http = httpx.Client(timeout=settings.timeout, follow_redirects=True)
    options = ClientOptions(
        schema=schema or settings.schema,
        httpx_client=http,
        auto_refresh_token=False,
        persist_session=False,
    )
    try:
        yield create_client(settings.rest_url, settings.key, options=options)
    finally:
        http.close()


def quote_ident(name: str) -> str:
    """Quote a Postgres identifier (doubling embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"
