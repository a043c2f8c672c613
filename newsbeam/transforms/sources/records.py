"""The raw record every reader emits: one article as the source gave it, before normalisation."""

from __future__ import annotations

import re

from newsbeam.errors import NewsbeamError

# A UTF-16 surrogate on its own (a JSON "\ud800" escape, say): UTF-8 cannot encode it, so neither Beam's
# coders nor the Parquet writer can carry it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Record fields by the names sources give them, for error messages.
_FIELD_NAMES = {"explicit_id": "id", "date_raws": "date", "language_hint": "language"}


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
    where: str | None = None,
) -> dict:
    """One raw article. `date_raws` are candidate date strings in order of preference (published, updated, dc:date).

    Raises NewsbeamError('parse', 'bad_unicode') when a field holds a lone surrogate; `where` (default `source`)
    names the record in that message, e.g. `file.jsonl:12`.
    """
    record = {
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
    field = _field_with_lone_surrogate(record)
    if field:
        raise NewsbeamError("parse", "bad_unicode", f"{where or source}: `{_FIELD_NAMES.get(field, field)}` holds a lone "
                            "UTF-16 surrogate, which UTF-8 cannot store", explicit_id)
    return record


def _field_with_lone_surrogate(record: dict) -> str | None:
    """The first field (or list of strings) of `record` that holds a lone surrogate, or None."""
    for field, value in record.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and _LONE_SURROGATE.search(v) for v in values):
            return field
    return None
