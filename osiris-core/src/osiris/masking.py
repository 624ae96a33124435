"""One place that removes secrets from anything written as text.

Every writer of text (events, metrics, logs, artifacts, error messages, CLI output) passes what
it writes through a ``Masker``. It replaces known secret values, wherever they appear, with
``***`` and masks the values of fields named as secret. It never guesses from a value's shape, so
ids, hashes and run ids stay readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 3
"""Shorter values would mask innocent text everywhere; such secrets are masked by field name only."""


class Masker:
    """Masks registered secret values and fields named as secret."""

    def __init__(self, secrets: Iterable[str] = (), secret_fields: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._fields: set[str] = set()
        self.add_secrets(secrets)
        self.add_fields(secret_fields)

    def add_secrets(self, values: Iterable[Any]) -> None:
        """Register secret values, with the URL-encoded forms they take inside DSNs."""
        for value in values:
            if value is None or isinstance(value, bool):
                continue
            text = str(value)
            if len(text) < MIN_SECRET_LENGTH:
                continue
            self._secrets.update({text, quote(text, safe=""), quote_plus(text)})

    def add_fields(self, names: Iterable[str]) -> None:
        self._fields.update(name.lower() for name in names)

    def mask(self, text: str) -> str:
        """Replace every registered secret in ``text``; longest first so overlaps mask fully."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def mask_obj(self, obj: Any) -> Any:
        """Mask a JSON-like structure: secret-named fields entirely, every string by value."""
        if isinstance(obj, dict):
            return {
                key: (MASK if self._is_secret_field(key, value) else self.mask_obj(value))
                for key, value in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self.mask_obj(item) for item in obj]
        if isinstance(obj, str):
            return self.mask(obj)
        return obj

    def _is_secret_field(self, key: Any, value: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._fields and value not in (None, "")


process_masker = Masker()
"""Secrets resolved anywhere in this process; the CLI masks every message it prints with it."""
