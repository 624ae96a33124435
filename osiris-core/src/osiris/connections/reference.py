"""Parsing of ``@family.alias`` / ``@family`` connection references."""

from __future__ import annotations

import re

from osiris.errors import InvalidInputError

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_REFERENCE = re.compile(rf"@(?P<family>{_IDENT})(?:\.(?P<alias>{_IDENT}))?")


def parse_reference(ref: object) -> tuple[str, str | None]:
    """Split ``"@family.alias"`` into ``(family, alias)``; ``"@family"`` gives ``(family, None)``.

    ``None`` for the alias means "the family's default alias", chosen when resolving.
    """
    match = _REFERENCE.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise InvalidInputError(
            f"Connection reference {ref!r} is not valid;"
            " expected '@family.alias' or '@family' (letters, digits, '_' and '-')."
        )
    return match["family"], match["alias"]
