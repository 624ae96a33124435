"""One place that removes secrets from anything written as text.

Every writer of text (events, metrics, logs, artifacts, error messages, CLI output) passes what
it writes through a ``Masker``. It replaces known secret values, wherever they appear, with
``***`` and masks the values of fields named as secret. The only shape it recognises is a
password in a URL's userinfo (``scheme://user:password@host``), which is a credential whatever
its value; it never guesses otherwise, so ids, hashes and run ids stay readable.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 3
"""Shorter values would mask innocent text everywhere; such secrets are masked by field name only."""

_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^\s/?#\"']+)@"
)
"""``scheme://user:password@``; the password runs to the last ``@`` before the path, so an
unescaped ``@`` inside it is still covered."""


def url_password(text: str) -> str | None:
    """The password embedded in a DSN-like URL, as written (possibly percent-encoded), or None."""
    match = _URL_PASSWORD.search(text)
    return match["password"] if match else None


def secret_forms(text: str) -> set[str]:
    """The forms a secret takes in written text: raw, URL-encoded (DSNs) and JSON-escaped."""
    return {
        text,
        quote(text, safe=""),
        quote(text),
        quote_plus(text),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }


class Masker:
    """Masks registered secret values and fields named as secret."""

    def __init__(self, secrets: Iterable[str] = (), secret_fields: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        self._fields: set[str] = set()
        self._lock = threading.Lock()  # steps resolve connections from several threads
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
            with self._lock:
                self._secrets.update(secret_forms(text))
                self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def snapshot(self) -> tuple[frozenset[str], frozenset[str]]:
        """The registered secrets and fields, for ``restore`` (test isolation)."""
        with self._lock:
            return frozenset(self._secrets), frozenset(self._fields)

    def restore(self, saved: tuple[frozenset[str], frozenset[str]]) -> None:
        with self._lock:
            self._secrets, self._fields = set(saved[0]), set(saved[1])
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def add_fields(self, names: Iterable[str]) -> None:
        with self._lock:
            self._fields = self._fields | {name.lower() for name in names}

    def mask(self, text: str) -> str:
        """Replace every registered secret in ``text`` (longest first, so overlaps mask fully),
        then any password left in a URL's userinfo."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
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

    def mask_values(self, obj: Any) -> Any:
        """Mask every string of a JSON-like structure by value only, never by field name.

        For data such as discovery samples, where a column named ``key`` or ``password`` is
        data, not a secret, while the connection's own secret values must still disappear.
        """
        if isinstance(obj, dict):
            return {key: self.mask_values(value) for key, value in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.mask_values(item) for item in obj]
        if isinstance(obj, str):
            return self.mask(obj)
        return obj

    def _is_secret_field(self, key: Any, value: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._fields and value not in (None, "")


process_masker = Masker()
"""Secrets resolved anywhere in this process; the CLI masks every message it prints with it.

It collects secret VALUES only. Secret field names (``key``, ``dsn``) belong to the masker of the
run or command that resolved them: registered process-wide, a family's ``key`` would mask every
unrelated ``key`` field (a column's key in discovery, say) for the rest of the process."""
