"""DeduplicateArticles: one row per `id` within a run; the others are counted as duplicates of their source."""

from __future__ import annotations

import apache_beam as beam

DUPLICATES = "duplicates"


def _preference(row: dict):
    """Which copy survives: the one with a known date, a URL and the longest text; ties broken by source."""
    return (row["published_at"] is None, row["url"] is None, -len(row["text"]), row["source"], row["url"] or "")


class _KeepOne(beam.DoFn):
    def process(self, element):
        _, rows = element
        ordered = sorted(rows, key=_preference)
        yield ordered[0]
        for duplicate in ordered[1:]:
            yield beam.pvalue.TaggedOutput(DUPLICATES, duplicate["source"])


class DeduplicateArticles(beam.PTransform):
    """Article rows -> unique rows (main) and the sources of dropped copies (`duplicates`).

    Rows with the same `content_hash` but different ids (syndicated copies) are all kept.
    """

    def expand(self, rows):
        return (
            rows
            | "KeyById" >> beam.Map(lambda row: (row["id"], row))
            | "GroupById" >> beam.GroupByKey()
            | "KeepOne" >> beam.ParDo(_KeepOne()).with_outputs(DUPLICATES, main="unique")
        )
