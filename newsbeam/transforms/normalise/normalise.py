"""NormaliseArticles: raw records to article rows (text, URL, dates, identity); failures to dead letters.

The language is detected later, after deduplication (`detect.DetectLanguage`); a row leaves here with its
declared language, normalised, or None.
"""

from __future__ import annotations

import datetime as dt

import apache_beam as beam

from newsbeam.errors import NewsbeamError, dead_letter_from
from newsbeam.schemas import SCHEMA_VERSION
from newsbeam.transforms.normalise import dates, identity
from newsbeam.transforms.normalise.language import normalise_language_tag
from newsbeam.transforms.normalise.text import clean_text, html_to_text, looks_like_html, single_line
from newsbeam.transforms.normalise.urls import canonical_url

ERRORS = "errors"


def _body(raw: dict) -> str:
    text = raw["text"]
    if raw.get("text_is_html") or (raw["source_type"] == "feed" and looks_like_html(text)):
        return html_to_text(text)
    return clean_text(text)


def normalise_record(raw: dict, *, ingested_at: dt.datetime, run_id: str) -> dict:
    """One article row (all but the detected language, entities and sentiment); raises NewsbeamError when nothing is left."""
    title = single_line(raw.get("title"))
    text = _body(raw)
    if not text and not title:
        raise NewsbeamError("normalise", "empty_article", "neither title nor text after clean-up")
    url = canonical_url(raw.get("url"))
    published = dates.first_date(*raw["date_raws"], now=ingested_at)
    hashed = identity.content_hash(title, text)
    key = identity.identity_key(raw.get("explicit_id"), url, hashed, raw["source"])
    return {
        "id": identity.article_id(key),
        "url": url,
        "source": raw["source"],
        "source_type": raw["source_type"],
        "source_name": raw.get("source_name"),
        "feed_title": single_line(raw.get("feed_title")),
        "title": title,
        "text": text,
        "authors": [name for name in (single_line(a) for a in raw["authors"]) if name],
        "published_at": published.at,
        "published_precision": published.precision,
        "published_raw": published.raw,
        "language": normalise_language_tag(raw.get("language_hint")),  # declared; DetectLanguage decides
        "language_confidence": None,
        "content_hash": hashed,
        "ingested_at": ingested_at,
        "run_id": run_id,
        "schema_version": SCHEMA_VERSION,
        "partition_date": dates.partition_day(published, ingested_at).isoformat(),
    }


class _Normalise(beam.DoFn):
    def __init__(self, ingested_at: dt.datetime | None, run_id: str):
        self._ingested_at = ingested_at
        self._run_id = run_id

    def process(self, raw: dict):
        ingested_at = self._ingested_at or dt.datetime.now(dt.timezone.utc)
        try:
            yield normalise_record(raw, ingested_at=ingested_at, run_id=self._run_id)
        except Exception as error:
            row = dead_letter_from(raw.get("source", "?"), error, "normalise", raw.get("explicit_id"))
            yield beam.pvalue.TaggedOutput(ERRORS, row)


class NormaliseArticles(beam.PTransform):
    """Raw records -> article rows (main output) and dead letters (`errors`).

    `ingested_at` is the run's start for a batch run (one value per run); None stamps each record when it
    is normalised, as a long-running streaming job needs.
    """

    def __init__(self, ingested_at: dt.datetime | None, run_id: str):
        super().__init__()
        self._ingested_at = ingested_at
        self._run_id = run_id

    def expand(self, raws):
        return raws | "Normalise" >> beam.ParDo(_Normalise(self._ingested_at, self._run_id)).with_outputs(
            ERRORS, main="articles"
        )
