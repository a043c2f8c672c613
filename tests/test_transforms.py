"""Each stage's composite transform on a real Beam pipeline (TestPipeline on the in-process runner)."""

import datetime as dt
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.pipelines.runner import OfflineDirectRunner
from newsbeam.transforms.enrich.enrich import EnrichArticles
from newsbeam.transforms.normalise.dedup import DeduplicateArticles
from newsbeam.transforms.normalise.detect import DetectLanguage
from newsbeam.transforms.normalise.normalise import NormaliseArticles
from newsbeam.transforms.sink.run_summary import WriteRunCounts, partition_event, source_event
from newsbeam.transforms.sources.read import ReadSources
from newsbeam.transforms.sources.records import raw_record
from newsbeam.transforms.sources.specs import SourceSpec

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>https://e.org/1</link><description>First &lt;b&gt;item&lt;/b&gt;.</description></item>
<item><title>Two</title><link>https://e.org/2</link><description>Second item.</description></item>
</channel></rss>"""


def _pipeline():
    return TestPipeline(runner=OfflineDirectRunner())


def test_read_sources_files_and_dead_letters(tmp_path):
    (tmp_path / "feed.rss").write_bytes(RSS)
    (tmp_path / "a.jsonl").write_text('{"text": "Body", "id": "x1"}\nnot json\n')
    (tmp_path / "page.xml").write_bytes(b"<html><body>not a feed</body></html>")
    specs = [SourceSpec(str(tmp_path / "*.rss")), SourceSpec(str(tmp_path / "a.jsonl"), language="nl"),
             SourceSpec(str(tmp_path / "page.xml")), SourceSpec(str(tmp_path / "none-*.txt"))]  # fmt: skip
    with _pipeline() as pipeline:
        read = pipeline | beam.Create(specs) | ReadSources()
        assert_that(
            read["records"] | beam.Map(lambda r: (r["source_type"], r["title"] or r["text"], r["language_hint"])),
            equal_to([("feed", "One", None), ("feed", "Two", None), ("jsonl", "Body", "nl")]),
        )
        assert_that(
            read["errors"] | beam.Map(lambda e: (e["source"].rsplit("/", 1)[-1], e["stage"], e["reason"])),
            equal_to([("a.jsonl", "parse", "bad_json"), ("page.xml", "parse", "not_a_feed"), ("none-*.txt", "fetch", "not_found")]),
            label="errors",
        )


def test_bad_records_of_a_file_are_dead_letters_and_the_rest_flows_through_beam(tmp_path):
    lines = ['{"id": "g1", "text": "First"}', '{"id": "s2", "text": "Lone \\ud800"}', "[" * 100_000 + "]" * 100_000,
             '{"id": "g4", "text": "Fourth"}']  # fmt: skip
    (tmp_path / "a.jsonl").write_text("\n".join(lines))
    with _pipeline() as pipeline:
        read = pipeline | beam.Create([SourceSpec(str(tmp_path / "a.jsonl"))]) | ReadSources()
        assert_that(read["records"] | beam.Map(lambda r: r["explicit_id"]), equal_to(["g1", "g4"]))
        assert_that(
            read["errors"] | beam.Map(lambda e: (e["reason"], e["record_id"], e["detail"].split(": ")[0].rsplit("/", 1)[-1])),
            equal_to([("bad_unicode", "s2", "a.jsonl:2"), ("too_deep", None, "a.jsonl:3")]),
            label="errors",
        )


def test_normalise_dead_letters_carry_the_record_id():
    raws = [raw_record(source="s", source_type="feed", explicit_id="e-1", title="Deep", text_is_html=True,
                       text="<div>" * 3000 + "x" + "</div>" * 3000)]  # fmt: skip
    with _pipeline() as pipeline:
        result = pipeline | beam.Create(raws) | NormaliseArticles(NOW, "r1")
        assert_that(result.errors | beam.Map(lambda e: (e["stage"], e["reason"], e["record_id"])),
                    equal_to([("normalise", "too_deep", "e-1")]))  # fmt: skip


def test_normalise_articles_rows_and_dead_letters():
    raws = [
        raw_record(source="s", source_type="feed", title="<b>Hello</b> world", url="HTTPS://E.org/a?utm_source=x",
                   text="<p>The government announced new measures on Monday to support farmers.</p>",
                   text_is_html=True, date_raws=["Mon, 14 Mar 2022 10:00:00 +0100"], authors=["A. Writer"]),
        raw_record(source="s", source_type="feed", title="", text="   "),
    ]  # fmt: skip

    def check(rows):
        (row,) = rows
        assert row["title"] == "Hello world" and row["text"].startswith("The government announced")
        assert row["url"] == "https://e.org/a" and row["language"] is None  # nothing declared; detected later
        assert row["published_at"] == dt.datetime(2022, 3, 14, 9, tzinfo=dt.timezone.utc)
        assert row["partition_date"] == "2022-03-14" and row["run_id"] == "r1" and row["ingested_at"] == NOW
        assert len(row["id"]) == 32 and len(row["content_hash"]) == 32

    with _pipeline() as pipeline:
        result = pipeline | beam.Create(raws) | NormaliseArticles(NOW, "r1")
        assert_that(result.articles, check)
        assert_that(result.errors | beam.Map(lambda e: (e["stage"], e["reason"])),
                    equal_to([("normalise", "empty_article")]), label="errors")  # fmt: skip


def test_language_is_detected_from_the_text_with_the_declared_language_as_a_hint():
    rows = [
        {"id": "1", "source": "s", "language": "en", "title": "Kabinet trekt extra geld uit voor dijken",
         "text": "Het kabinet wil volgend jaar meer geld uittrekken voor de versterking van de dijken."},
        {"id": "2", "source": "s", "language": "nl", "title": None, "text": "Station Zuid"},
        {"id": "3", "source": "s", "language": None, "title": None, "text": "12345 !!!"},
        {"id": "4", "source": "s", "language": None, "title": "no text field"},
    ]  # fmt: skip
    with _pipeline() as pipeline:
        result = pipeline | beam.Create(rows) | DetectLanguage()
        assert_that(
            result.articles | beam.Map(lambda r: (r["id"], r["language"], r["language_confidence"] is not None)),
            equal_to([("1", "nl", True), ("2", "nl", True), ("3", "und", False)]),
        )  # 1: a wrong declaration never beats a clear detection; 2: the declaration settles a short text
        assert_that(result.errors | beam.Map(lambda e: (e["source"], e["stage"], e["record_id"])),
                    equal_to([("s", "normalise", "4")]), label="errors")  # fmt: skip


def _row(article_id, source, text="t", published=None, url=None):
    return {"id": article_id, "source": source, "text": text, "published_at": published, "url": url}


def test_deduplicate_keeps_the_best_copy_and_drops_committed_ids():
    rows = [_row("a", "feed2"), _row("a", "feed1", text="longer text", url="https://x/a"), _row("b", "feed1"), _row("c", "feed3")]
    with _pipeline() as pipeline:
        committed = pipeline | "Committed" >> beam.Create(["c", "zzz"])
        result = pipeline | beam.Create(rows) | DeduplicateArticles(committed)
        assert_that(result["unique"] | beam.Map(lambda r: (r["id"], r["source"])), equal_to([("a", "feed1"), ("b", "feed1")]))
        assert_that(result["duplicates"], equal_to(["feed2"]), label="duplicates")
        assert_that(result["seen"], equal_to(["feed3"]), label="seen")


def test_deduplicate_treats_the_same_url_under_another_id_as_a_copy():
    """A syndicated copy with an explicit id of its own: one row per canonical URL, in the run and in the dataset."""
    rows = [
        _row("atom-id", "atom", url="https://x/story", published="2023-03-01"),
        _row("rss-id", "rss", url="https://x/story"),
        _row("other", "rss", url="https://x/committed"),
        _row("no-url-1", "txt"), _row("no-url-2", "txt"),
        _row("later-chunk", "rss", url="https://x/chunk1"),
    ]  # fmt: skip
    with _pipeline() as pipeline:
        result = pipeline | beam.Create(rows) | DeduplicateArticles(
            committed_urls=pipeline | "Urls" >> beam.Create(["https://x/committed"]),
            run_committed_urls=pipeline | "RunUrls" >> beam.Create(["https://x/chunk1"]),
        )
        assert_that(result["unique"] | beam.Map(lambda r: r["id"]), equal_to(["atom-id", "no-url-1", "no-url-2"]))
        assert_that(result["duplicates"], equal_to(["rss", "rss", "rss"]), label="duplicates")
        assert_that(result["seen"], equal_to([]), label="seen")


def test_enrich_adds_sentiment_and_null_with_a_reason_for_unsupported_languages():
    articles = [
        {"id": "1", "source": "s", "language": "en", "title": "Great success", "text": "A wonderful, excellent day for the team."},
        {"id": "2", "source": "s", "language": "fi", "title": None, "text": "Hyvä päivä."},
    ]
    columns = ("id", "sentiment_label", "sentiment_method", "sentiment_negative_share", "sentiment_positive_share",
               "entities", "ner_model")  # fmt: skip
    with _pipeline() as pipeline:
        result = pipeline | beam.Create(articles) | EnrichArticles({})
        assert_that(
            result["articles"] | beam.Map(lambda r: tuple(r[c] for c in columns)),
            equal_to([("1", "positive", "classifier-en-2", 0.0, 1.0, [], None),
                      ("2", None, "none: no validated method for language fi", None, None, [], None)]),
        )


def test_run_counts_document(tmp_path):
    path = str(tmp_path / ".counts.json")
    events = [source_event("s1", "read"), source_event("s1", "read"), source_event("s1", "written", 2),
              source_event("s2", "failed"), partition_event("date=2023-01-01/lang=en", 2)]  # fmt: skip
    with _pipeline() as pipeline:
        pipeline | beam.Create(events) | WriteRunCounts(path)
    document = json.loads((tmp_path / ".counts.json").read_text())
    assert document["sources"]["s1"] == {"read": 2, "written": 2, "duplicates": 0, "seen": 0, "filtered": 0, "failed": 0}
    assert document["sources"]["s2"]["failed"] == 1
    assert document["partitions"] == {"date=2023-01-01/lang=en": {"written": 2}}


def test_normalise_stamps_each_record_when_no_run_time_is_given():
    before = dt.datetime.now(dt.timezone.utc)
    raw = raw_record(source="s", source_type="feed", title="Streaming item", text="The council met on Tuesday evening.")

    def check(rows):
        (row,) = rows
        assert before <= row["ingested_at"] <= dt.datetime.now(dt.timezone.utc)
        assert row["partition_date"] == row["ingested_at"].date().isoformat()  # undated: the ingestion day

    with _pipeline() as pipeline:
        result = pipeline | beam.Create([raw]) | NormaliseArticles(None, "stream")
        assert_that(result.articles, check)
