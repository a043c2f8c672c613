"""Article identity: a stable `id` from the source's explicit id, else the canonical URL, else the content."""

from __future__ import annotations

import hashlib
import re

_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S")
_FOLD = re.compile(r"\W+", re.UNICODE)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def content_hash(title: str | None, text: str) -> str:
    """Hash of the normalised title and text (case, punctuation and spacing folded): equal for syndicated copies."""
    folded = _FOLD.sub(" ", f"{title or ''} {text}".casefold()).strip()
    return _digest(folded)


def identity_key(explicit_id: str | None, canonical: str | None, hashed: str, source: str) -> str:
    """The string an article's `id` is derived from, with a prefix that says which rule applied.

    A URI-like explicit id (http:, urn:, tag:) is global; any other explicit id (`42`, `reuters-1`)
    is only unique within its source, so it is scoped by the source it was read from.
    """
    explicit = (explicit_id or "").strip()
    if explicit:
        return f"uri:{explicit}" if _URI.match(explicit) else f"local:{source}#{explicit}"
    if canonical:
        return f"url:{canonical}"
    return f"content:{hashed}"


def article_id(key: str) -> str:
    """The stable `id` column: a 32-hex-digit hash of the identity key."""
    return _digest(key)
