"""Feed reader: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 bytes through feedparser into raw article records."""

from __future__ import annotations

from collections.abc import Iterator

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.sources.encoding import looks_like_html_not_feed, safe_parse
from newsbeam.transforms.sources.records import raw_record


def _entry_text(entry) -> tuple[str, bool]:
    """The fullest body an entry offers (content, else summary), and whether it is HTML."""
    candidates = [c for c in entry.get("content", []) if c.get("value")]
    if entry.get("summary"):
        candidates.append(entry.get("summary_detail") or {"value": entry["summary"], "type": "text/html"})
    if not candidates:
        return "", False
    best = max(candidates, key=lambda c: len(c.get("value", "")))
    return best.get("value", ""), "html" in (best.get("type") or "text/html")


def _entry_language(entry, feed_language: str | None) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        detail = detail[0] if isinstance(detail, list) and detail else detail
        if isinstance(detail, dict) and detail.get("language"):
            return detail["language"]
    return feed_language


def _authors(entry) -> list[str]:
    names = [a.get("name") or a.get("email") for a in entry.get("authors", []) if isinstance(a, dict)]
    names = [n for n in names if n]
    if not names and entry.get("author"):
        names = [entry["author"]]
    return names


def parse_feed(body: bytes, *, source: str, headers: dict | None = None, base_url: str | None = None,
               source_name=None, language_hint=None) -> Iterator[dict]:
    """Raw records of a feed document. Raises NewsbeamError when the document is not a feed at all.

    A broken feed (feedparser's `bozo`) still yields every item before the point where it broke.
    `base_url` (where the feed was fetched from) resolves relative links.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    parsed = safe_parse(body, headers, url=base_url)
    if not parsed.get("version") and not parsed.entries:
        if looks_like_html_not_feed(body, headers):
            raise NewsbeamError("parse", "not_a_feed", f"{source}: an HTML page, not an RSS/Atom feed")
        problem = parsed.get("bozo_exception")
        raise NewsbeamError("parse", "not_a_feed", f"{source}: no RSS/Atom document found ({problem or 'no items'})")
    feed = parsed.feed
    feed_title = feed.get("title") or None
    feed_language = feed.get("language") or headers.get("content-language") or language_hint
    for entry in parsed.entries:
        text, is_html = _entry_text(entry)
        yield raw_record(
            source=source,
            source_type="feed",
            source_name=source_name,
            feed_title=feed_title,
            text=text,
            text_is_html=is_html,
            title=entry.get("title"),
            url=entry.get("link"),
            explicit_id=entry.get("id") or None,
            authors=_authors(entry),
            # dict.get: FeedParserDict.get("published") silently falls back to `updated` with a warning.
            date_raws=[dict.get(entry, key) for key in ("published", "updated", "created")],
            # An explicit per-source language in the sources file beats what the feed declares.
            language_hint=language_hint or _entry_language(entry, feed_language),
        )
