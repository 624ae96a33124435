"""Finding literal secrets in step configs: secrets belong in osiris_connections.yaml, never in OML.

A value counts as a literal secret when its key is listed in the component spec's ``secrets``
(JSON pointers) or is named like a secret (``password``, ``api_key``, ``*_token``, ...). Names
such as ``primary_key`` or ``upsert_keys`` are not secret-like.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from osiris.oml.issues import PathPart

SECRET_NAMES = frozenset(
    {
        "password", "passwd", "pwd", "pass", "secret", "token", "key", "api_key", "apikey",
        "service_role_key", "anon_key", "access_key", "secret_key", "private_key",
        "client_secret", "access_token", "refresh_token", "auth_token", "bearer_token", "dsn",
        "connection_string", "connection_url", "database_url", "db_url", "credentials",
    }
)  # fmt: skip
SECRET_SUFFIXES = ("_password", "_secret", "_token", "_api_key", "_apikey", "_dsn")


def is_secret_name(name: object) -> bool:
    normalised = str(name).lower().replace("-", "_")
    return normalised in SECRET_NAMES or normalised.endswith(SECRET_SUFFIXES)


def is_literal(value: Any) -> bool:
    """A written value (text or number); empty, null, booleans and containers are not secrets."""
    return value is not None and value != "" and not isinstance(value, dict | list | bool)


def literal_secrets(config: Any, pointers: Iterable[str] = ()) -> set[tuple[PathPart, ...]]:
    """Paths (relative to ``config``) of literal secrets: spec pointers plus secret-like names."""
    found = {parts for parts in map(_pointer_parts, pointers) if is_literal(_at(config, parts))}
    return found | _named(config, ())


def _pointer_parts(pointer: str) -> tuple[str, ...]:
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/"))


def _at(value: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _named(value: Any, path: tuple[PathPart, ...]) -> set[tuple[PathPart, ...]]:
    found: set[tuple[PathPart, ...]] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(key) and is_literal(item):
                found.add((*path, key))
            else:
                found |= _named(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found |= _named(item, (*path, i))
    return found
