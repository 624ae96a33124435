"""Parsing of ``@family.alias`` / ``@family`` connection references."""

from __future__ import annotations

import re

from osiris.errors import InvalidInputError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
"""What a family or alias name may look like."""
_REFERENCE = re.compile(rf"@(?P<family>{IDENTIFIER.pattern})(?:\.(?P<alias>{IDENTIFIER.pattern}))?")


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
