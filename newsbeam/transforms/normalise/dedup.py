"""DeduplicateArticles: one row per `id` within a run, and none for ids the dataset already holds.

Dropped copies are reported by source: `duplicates` (another copy in this run won) and `seen`
(an earlier run already wrote the article).
"""

from __future__ import annotations

import apache_beam as beam

DUPLICATES = "duplicates"
SEEN = "seen"


def _preference(row: dict):
    """Which copy survives: the one with a known date, a URL and the longest text; ties broken by source."""
    return (row["published_at"] is None, row["url"] is None, -len(row["text"]), row["source"], row["url"] or "")


class _KeepOne(beam.DoFn):
    def process(self, element):
        _, grouped = element
        rows = list(grouped["new"])
        if not rows:
            return
        if any(True for _ in grouped["seen"]):
            for row in rows:
                yield beam.pvalue.TaggedOutput(SEEN, row["source"])
            return
        ordered = sorted(rows, key=_preference)
        yield ordered[0]
        for duplicate in ordered[1:]:
            yield beam.pvalue.TaggedOutput(DUPLICATES, duplicate["source"])


class DeduplicateArticles(beam.PTransform):
    """Article rows (+ optional PCollection of committed ids) -> unique new rows; `duplicates`, `seen` sources.

    One shuffle serves both jobs. Rows with the same `content_hash` but different ids (syndicated
    copies) are all kept.
    """

    def __init__(self, committed_ids=None):
        super().__init__()
        self._committed_ids = committed_ids

    def expand(self, rows):
        keyed = rows | "KeyById" >> beam.Map(lambda row: (row["id"], row))
        seen = (
            self._committed_ids
            if self._committed_ids is not None
            else rows.pipeline | "NoCommittedIds" >> beam.Create([])
        ) | "KeySeen" >> beam.Map(lambda article_id: (article_id, True))
        return (
            {"new": keyed, "seen": seen}
            | "GroupById" >> beam.CoGroupByKey()
            | "KeepOne" >> beam.ParDo(_KeepOne()).with_outputs(DUPLICATES, SEEN, main="unique")
        )
