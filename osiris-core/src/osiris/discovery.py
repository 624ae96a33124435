"""Discovery of what a connection holds, cached under the project.

Discovery can take seconds on a large database, and an LLM agent asks for it often, so results
are cached in ``./.osiris/discovery/<family>/<alias>-<key>.json``. The key is a fingerprint of
the connection WITHOUT its secrets, of the options and of the family's distribution and version:
a change of any of them is a new key, so a stale entry is never read. Rotating a password keeps
the cache. Cached files hold no secret: the connection's secret values are masked in the result
before it is written. Masking there is by value only: in sample rows a column called ``key`` or
``password`` is data, not one of the connection's fields.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osiris.connections import ResolvedConnection
from osiris.errors import OsirisError
from osiris.masking import Masker, process_masker

CACHE_DIR = Path(".osiris") / "discovery"
CACHE_FORMAT = 1
KEY_LENGTH = 16
"""Hex digits of the fingerprint used in file names."""


@dataclass(frozen=True)
class Discovery:
    """A discovery result and where it came from."""

    ref: str
    family: str
    alias: str
    fingerprint: str
    discovered_at: str
    cached: bool
    path: Path
    result: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "family": self.family,
            "alias": self.alias,
            "fingerprint": self.fingerprint,
            "discovered_at": self.discovered_at,
            "cached": self.cached,
            **self.result,
        }


def fingerprint(
    connection: ResolvedConnection,
    secret_fields: tuple[str, ...],
    *,
    tables: list[str] | None,
    samples: int,
    distribution: str,
    version: str,
    identity: Mapping[str, Any] | None = None,
) -> str:
    """``sha256:<hex>`` of the connection without secrets, the options and the family's plugin.

    ``identity`` is what the family says locates the data inside its secret fields (the host and
    database of a DSN): dropping those fields whole would serve one database's cache for another.
    """
    public = _without_secrets(connection.values, secret_fields, connection.secret_values)
    if identity:
        public = {
            "values": public,
            "identity": _without_secrets(identity, secret_fields, connection.secret_values),
        }
    payload = {
        "format": CACHE_FORMAT,
        "family": connection.family,
        "alias": connection.alias,
        "connection": public,
        "options": {"tables": sorted(set(tables)) if tables else None, "samples": samples},
        "plugin": {"distribution": distribution, "version": version},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def discover(
    connection: ResolvedConnection,
    registry: Any,
    *,
    tables: list[str] | None = None,
    samples: int = 5,
    refresh: bool = False,
    base_dir: Path | None = None,
) -> Discovery:
    """Return the cached discovery for these inputs, or run the family's ``discover`` and cache it."""
    provided = registry.families[connection.family]
    family = provided.item
    secret_fields = tuple(family.secret_fields)
    key = fingerprint(
        connection,
        secret_fields,
        tables=tables,
        samples=samples,
        distribution=provided.distribution,
        version=provided.version,
        identity=_identity(family, connection),
    )
    folder = (base_dir or Path.cwd()) / CACHE_DIR / connection.family
    path = folder / f"{connection.alias}-{key.removeprefix('sha256:')[:KEY_LENGTH]}.json"
    if not refresh:
        cached = _read_cache(path, key)
        if cached is not None:
            return Discovery(
                connection.ref,
                connection.family,
                connection.alias,
                key,
                cached["discovered_at"],
                True,
                path,
                cached["result"],
            )
    try:
        raw = family.discover(connection.values, tables=tables, samples=samples)
    except NotImplementedError as exc:
        raise OsirisError(
            str(exc) or f"The '{connection.family}' family cannot discover."
        ) from None
    except OsirisError:
        raise
    except Exception as exc:
        raise OsirisError(
            f"Discovery of {connection.ref} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(raw, Mapping):
        raise OsirisError(
            f"The '{connection.family}' family returned {type(raw).__name__} from discover();"
            " expected a mapping with 'tables'."
        )
    raw = _with_missing_tables(raw, tables)
    # parse_constant: NaN and Infinity are not JSON (jq, JavaScript refuse them); keep them as text.
    plain = json.loads(json.dumps(raw, default=_jsonable), parse_constant=str)
    result = process_masker.mask_values(Masker(connection.secret_values).mask_values(plain))
    discovered_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_cache(folder, path, connection.alias, key, discovered_at, result)
    return Discovery(
        connection.ref, connection.family, connection.alias, key, discovered_at, False, path, result
    )


def _with_missing_tables(raw: Mapping[str, Any], tables: list[str] | None) -> Mapping[str, Any]:
    """A table asked for by ``--tables`` that the family did not return is listed with an error:
    a typo must not read as "no tables found"."""
    found = {str(t.get("name")) for t in raw.get("tables") or [] if isinstance(t, Mapping)}
    missing = [t for t in tables or [] if t not in found]
    if not missing:
        return raw
    absent = [{"name": t, "error": "no such table or view"} for t in missing]
    return {**raw, "tables": [*(raw.get("tables") or []), *absent]}


def _identity(family: Any, connection: ResolvedConnection) -> Mapping[str, Any] | None:
    """The family's ``discovery_identity`` of the connection (absent on duck-typed families)."""
    method = getattr(family, "discovery_identity", None)
    return method(connection.values) if callable(method) else None


def _without_secrets(value: Any, secret_fields: tuple[str, ...], secrets: list[str]) -> Any:
    """The connection as it may be hashed: secret fields dropped, embedded secrets masked."""
    names = {name.lower() for name in secret_fields}
    masker = Masker(secrets)

    def walk(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {k: walk(v) for k, v in item.items() if str(k).lower() not in names}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return masker.mask(item) if isinstance(item, str) else item

    return walk(value)


def _read_cache(path: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent or damaged: discover again
    if not isinstance(data, dict) or data.get("fingerprint") != key:
        return None
    if not isinstance(data.get("result"), dict) or "discovered_at" not in data:
        return None
    return data


def _write_cache(
    folder: Path, path: Path, alias: str, key: str, discovered_at: str, result: dict
) -> None:
    """Write atomically, then drop this alias's entries for other inputs (they are stale)."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {"fingerprint": key, "discovered_at": discovered_at, "result": result}
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{uuid.uuid4().hex}", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    own = re.compile(re.escape(alias) + rf"-[0-9a-f]{{{KEY_LENGTH}}}\.json")
    for other in folder.iterdir():
        if other != path and own.fullmatch(other.name):
            other.unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    """Sample values are data of any type; JSON keeps them readable and exact (as text)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(data).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _duration(value: dt.timedelta) -> str:
    """``-838:59:59`` rather than ``-35 days, 1:00:01``: hours may exceed 24, as in SQL TIME."""
    micros = abs(value) // dt.timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    text = f"{'-' if value < dt.timedelta(0) else ''}{hours}:{rest // 60:02}:{rest % 60:02}"
    return f"{text}.{fraction:06}" if fraction else text
