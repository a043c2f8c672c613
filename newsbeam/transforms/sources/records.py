"""The raw record every reader emits: one article as the source gave it, before normalisation."""

from __future__ import annotations


def raw_record(
    *,
    source: str,
    source_type: str,
    text: str | None,
    title: str | None = None,
    url: str | None = None,
    explicit_id: str | None = None,
    authors: list[str] | None = None,
    date_raws: list[str] | None = None,
    language_hint: str | None = None,
    source_name: str | None = None,
    feed_title: str | None = None,
    text_is_html: bool = False,
) -> dict:
    """One raw article. `date_raws` are candidate date strings in order of preference (published, updated, dc:date)."""
    return {
        "source": source,
        "source_type": source_type,
        "source_name": source_name,
        "feed_title": feed_title,
        "explicit_id": explicit_id,
        "url": url,
        "title": title,
        "text": text or "",
        "text_is_html": text_is_html,
        "authors": [a for a in (authors or []) if a],
        "date_raws": [d for d in (date_raws or []) if d],
        "language_hint": language_hint,
    }
