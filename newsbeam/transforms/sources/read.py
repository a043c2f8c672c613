"""ReadSources: source specs in, raw article records and dead letters out."""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from newsbeam.errors import NewsbeamError, dead_letter_from
from newsbeam.transforms.sources import articles, feed_state, feeds
from newsbeam.transforms.sources.fetch import FetchSettings, fetch
from newsbeam.transforms.sources.specs import SourceInput, SourceSpec, UnreadableFile, expand, printable, sniff_kind

RECORDS = "records"
ERRORS = "errors"
FEED_STATES = "feed_states"
# Article files larger than this are refused (a JSON Lines file is streamed and has no limit).
MAX_FILE_BYTES = 64 * 1024 * 1024


class ExpandSpecs(beam.DoFn):
    """A spec becomes one input per feed URL or matched file (none under `exclude`, the run's output); a spec
    that matches nothing, and a file that cannot be an input, are dead letters."""

    def __init__(self, exclude: str | None = None):
        self._exclude = exclude

    def process(self, spec: SourceSpec):
        try:
            for item in expand(spec, self._exclude):
                if isinstance(item, UnreadableFile):
                    yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(item.location, item))
                else:
                    yield item
        except NewsbeamError as error:
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(printable(spec.location), error))


class ReadInput(beam.DoFn):
    """Reads one feed URL or file into raw records. Any failure becomes a dead letter for that source only.

    Feed URLs use the state of earlier runs (`feed_states`): conditional GET validators, and no request
    at all while a feed is rate-limited or backing off. The new state of every URL goes to `feed_states`.
    """

    def __init__(self, feed_states: dict[str, feed_state.FeedState], fetch_settings: FetchSettings):
        self._states = feed_states
        self._settings = fetch_settings

    def process(self, item: SourceInput):
        hints = {"source_name": item.spec.name, "language_hint": item.spec.language}
        if item.spec.is_url:
            yield from self._read_feed_url(item.location, hints)
            return
        try:
            for record in self._read_file(item, hints):
                if isinstance(record, NewsbeamError):
                    yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(item.location, record, "parse"))
                else:
                    yield record
        except Exception as error:  # one bad source never stops the others
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(item.location, error, "parse"))

    def _read_feed_url(self, url: str, hints: dict):
        state, now = self._states.get(url) or feed_state.FeedState(url), dt.datetime.now(dt.timezone.utc)
        if not feed_state.due(state, now):
            yield beam.pvalue.TaggedOutput(FEED_STATES, (url, state))
            return
        try:
            result = fetch(url, state.validators(), self._settings)
            records = [] if result.not_modified else list(
                feeds.parse_feed(result.body, source=url, headers=result.headers, base_url=result.final_url, **hints)
            )
        except Exception as error:  # one bad feed never stops the others
            yield beam.pvalue.TaggedOutput(FEED_STATES, (url, feed_state.after_failure(state, error, now)))
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(url, error, "fetch"))
            return
        yield beam.pvalue.TaggedOutput(FEED_STATES, (url, feed_state.after_success(state, result, now)))
        yield from records

    @staticmethod
    def _read_file(item: SourceInput, hints: dict):
        kind = item.kind
        if kind == "jsonl":
            return _stream_jsonl(item.location, hints)
        data = _read_bounded(item.location)
        kind = kind or sniff_kind(data[:512])
        if kind == "jsonl":
            return articles.read_jsonl_articles(data.splitlines(), source=item.location, **hints)
        if kind == "feed":
            return feeds.parse_feed(data, source=item.location, **hints)
        if kind == "html":
            return [articles.read_html_article(data, source=item.location, **hints)]
        text = articles.decode_text(data, item.location)
        return [articles.read_text_article(text, source=item.location, **hints)]


def _read_bounded(location: str) -> bytes:
    with FileSystems.open(location, compression_type="uncompressed") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise NewsbeamError("parse", "too_large", f"{location}: larger than {MAX_FILE_BYTES} bytes")
    return data


def _stream_jsonl(location: str, hints: dict):
    with FileSystems.open(location) as handle:
        yield from articles.read_jsonl_articles(handle, source=location, **hints)


class ReadSources(beam.PTransform):
    """PCollection of SourceSpec -> `records` (raw article dicts), `errors` (dead letters), `feed_states` ((url, FeedState)).

    `exclude` is the run's output folder: its files are never input, even when a source's glob covers it.
    """

    def __init__(self, feed_states: dict | None = None, fetch_settings: FetchSettings | None = None, *,
                 spread_records: bool = True, exclude: str | None = None):
        super().__init__()
        self._feed_states = feed_states or {}
        self._fetch_settings = fetch_settings or FetchSettings()
        self._spread_records = spread_records  # False when the records go straight to a writer (staging)
        self._exclude = exclude

    def expand(self, specs):
        expanded = specs | "ExpandSpecs" >> beam.ParDo(ExpandSpecs(self._exclude)).with_outputs(ERRORS, main="inputs")
        read = (
            expanded.inputs
            | "SpreadInputs" >> beam.Reshuffle()
            | "ReadInputs"
            >> beam.ParDo(ReadInput(self._feed_states, self._fetch_settings)).with_outputs(
                ERRORS, FEED_STATES, main=RECORDS
            )
        )
        errors = (expanded[ERRORS], read[ERRORS]) | "FlattenReadErrors" >> beam.Flatten()
        # One large file is read by one worker; spreading its records lets every worker normalise them.
        records = read[RECORDS] | "SpreadRecords" >> beam.Reshuffle() if self._spread_records else read[RECORDS]
        return {RECORDS: records, ERRORS: errors, FEED_STATES: read[FEED_STATES]}
