"""What of the connections goes into a sandbox: references in a file, values in the environment.

The uploaded connections file holds only the connections the pipeline references, as written
(``${VAR}`` references, never their values); a secret written literally in the host's file is
replaced by a generated ``${OSIRIS_SECRET_...}`` reference. The values of exactly those variables
become environment variables of the worker process, and nothing else does: no sweep of
``*_KEY`` variables, never the E2B key or an LLM key. Hosts a cloud sandbox cannot reach
(loopback, private, link-local, single-label names) are refused before a sandbox is created.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from osiris.errors import InvalidInputError

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest

NEVER_FORWARDED = frozenset(
    {"E2B_API_KEY", "E2B_ACCESS_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
)
PATH_FIELDS = {"filesystem": ("base_dir",)}
"""Connection fields naming a directory on this machine: shipped as the sandbox's mirror of it."""
_HOST_FIELDS = ("host", "hostname", "server")
_PURE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass
class Shipment:
    """The connections file for the sandbox and the worker's environment."""

    connections_yaml: str | None
    env: dict[str, str] = field(default_factory=dict)


def ship_connections(
    plan: Manifest,
    ctx: ExecutionContext,
    *,
    mirror: Callable[[Path], str],
    allow_local_hosts: bool = False,
    never: frozenset[str] = NEVER_FORWARDED,
) -> Shipment:
    """Resolve every referenced connection here (bad input fails before a sandbox exists) and
    build what the sandbox gets; ``mirror`` maps a host directory to its sandbox path."""
    refs = sorted({s.connection for s in plan.steps if s.connection})
    if not refs:
        return Shipment(None)
    connections = ctx.connections
    variables = connections.variables
    env: dict[str, str] = {}
    families: dict[str, dict[str, Any]] = {}
    for ref in refs:
        resolved = ctx.resolve_connection(ref)
        family, alias, entry = connections.as_written(ref)
        shipper = _Shipper(
            ref=f"@{family}.{alias}",
            variables=variables,
            resolved=resolved.values,
            secret_fields={name.lower() for name in _secret_fields(ctx, family)},
            path_fields=PATH_FIELDS.get(family, ()),
            to_sandbox=lambda path: mirror((plan.base_dir / path).resolve()),
            never=never,
            env=env,
        )
        shipped = {k: shipper.ship(v, str(k), str(k)) for k, v in entry.items()}
        if alias == _default_alias(connections, family):
            shipped["default"] = True
        families.setdefault(family, {})[alias] = shipped
        check_reachable(shipper.ref, resolved.values, allow=allow_local_hosts)
    import yaml

    text = yaml.safe_dump(
        {"version": 1, "connections": families}, sort_keys=True, allow_unicode=True
    )
    return Shipment(text, env)


@dataclass
class _Shipper:
    """Ships the values of one connection entry (see the module docstring)."""

    ref: str
    variables: Any
    resolved: dict[str, Any]
    secret_fields: set[str]
    path_fields: tuple[str, ...]
    to_sandbox: Callable[[Path], str]
    never: frozenset[str]
    env: dict[str, str]

    def ship(self, value: Any, key: str, where: str) -> Any:
        if isinstance(value, dict):
            return {k: self.ship(v, str(k), f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.ship(v, key, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        if key in self.path_fields:
            return self.to_sandbox(Path(str(self.resolved.get(key, value))).expanduser())
        substitution = self.variables.substitute(value)
        for name in substitution.used:
            if name in self.never:
                raise InvalidInputError(
                    f"Connection '{self.ref}' field '{where}' uses ${{{name}}}, which is"
                    " never sent into a sandbox.",
                    hint="Give the connection its own variable.",
                )
        from osiris.masking import url_password

        secret = key.lower() in self.secret_fields or bool(url_password(substitution.text))
        if secret and not _PURE_REFERENCE.fullmatch(value):
            # a literal secret, or one mixed with references: the whole value travels as one
            # generated variable, so no part of it is written into the file
            name = _variable_name(self.ref, where)
            self.env[name] = substitution.text
            return "${" + name + "}"
        for name in substitution.used:
            found = self.variables.get(name)
            if found is not None:
                self.env[name] = found
        return value


def check_reachable(ref: str, values: dict[str, Any], *, allow: bool) -> None:
    """Refuse a connection whose host a cloud sandbox cannot reach (exit 2)."""
    if allow:
        return
    for host in _hosts(values):
        if is_local_host(host):
            raise InvalidInputError(
                f"Connection '{ref}' points at {host}, which a cloud sandbox cannot reach.",
                hint="Use a host reachable from the internet, or pass --e2b-allow-local-hosts"
                " if the sandbox can reach it.",
            )


def is_local_host(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return "." not in name or name.endswith(_LOCAL_NAMES) or name == "localhost"
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def _hosts(values: dict[str, Any]) -> list[str]:
    found = []
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            continue
        if key.lower() in _HOST_FIELDS:
            found.append(value)
        elif "://" in value:
            parsed = urlparse(value)
            if parsed.hostname:
                found.append(parsed.hostname)
    return found


def _secret_fields(ctx: ExecutionContext, family: str) -> tuple[str, ...]:
    provided = ctx.registry.families.get(family)
    return tuple(getattr(provided.item, "secret_fields", ()) or ()) if provided else ()


def _default_alias(connections: Any, family: str) -> str | None:
    try:
        return connections.default_alias(family)
    except InvalidInputError:
        return None


def _variable_name(ref: str, where: str) -> str:
    raw = f"OSIRIS_SECRET_{ref.lstrip('@')}_{where}"
    return re.sub(r"[^A-Za-z0-9_]", "_", raw).upper()
