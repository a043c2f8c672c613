"""DeduplicateArticles: one row per `id` within a run, and none for ids the dataset already holds.

Dropped copies are reported by source: `duplicates` (another copy in this run won, possibly in an
earlier chunk of a chunked run) and `seen` (an earlier run already wrote the article).
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
        if any(True for _ in grouped["this_run"]):
            for row in rows:
                yield beam.pvalue.TaggedOutput(DUPLICATES, row["source"])
            return
        ordered = sorted(rows, key=_preference)
        yield ordered[0]
        for duplicate in ordered[1:]:
            yield beam.pvalue.TaggedOutput(DUPLICATES, duplicate["source"])


class DeduplicateArticles(beam.PTransform):
    """Article rows (+ optional PCollections of committed ids) -> unique new rows; `duplicates`, `seen` sources.

    `committed_ids`: ids earlier runs wrote; `run_committed_ids`: ids earlier chunks of this run wrote.
    One shuffle serves both jobs. Rows with the same `content_hash` but different ids (syndicated
    copies) are all kept.
    """

    def __init__(self, committed_ids=None, run_committed_ids=None):
        super().__init__()
        self._committed_ids = committed_ids
        self._run_committed_ids = run_committed_ids

    def _keyed(self, pipeline, ids, name: str):
        ids = ids if ids is not None else pipeline | f"No{name}" >> beam.Create([])
        return ids | f"Key{name}" >> beam.Map(lambda article_id: (article_id, True))

    def expand(self, rows):
        keyed = rows | "KeyById" >> beam.Map(lambda row: (row["id"], row))
        seen = self._keyed(rows.pipeline, self._committed_ids, "Seen")
        this_run = self._keyed(rows.pipeline, self._run_committed_ids, "RunCommitted")
        return (
            {"new": keyed, "seen": seen, "this_run": this_run}
            | "GroupById" >> beam.CoGroupByKey()
            | "KeepOne" >> beam.ParDo(_KeepOne()).with_outputs(DUPLICATES, SEEN, main="unique")
        )
