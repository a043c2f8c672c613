"""DeduplicateArticles: one row per article within a run, and none for articles the dataset already holds.

Two rows are one article when their `id` matches or their canonical `url` does: a syndicated copy with an
explicit id of its own (an Atom entry and an RSS item linking to the same page) is still one article.
Dropped copies are reported by source: `seen` (an earlier run already wrote this id) and `duplicates`
(another copy won: the same id in this run, possibly in an earlier chunk of a chunked run, or the same
URL under another id, in this run or in the dataset).
"""

from __future__ import annotations

import apache_beam as beam

DUPLICATES = "duplicates"
SEEN = "seen"


def _preference(row: dict):
    """Which copy survives: the one with a known date, a URL and the longest text; ties broken by source."""
    return (row["published_at"] is None, row["url"] is None, -len(row["text"]), row["source"], row["url"] or "")


class _KeepOne(beam.DoFn):
    """One group of rows sharing a key: all dropped if the key was committed, else the preferred row kept.

    `committed_as`: what a row whose key the dataset holds counts as (`seen` for an id, `duplicates` for a URL,
    since a URL match means another id was written for the same article).
    """

    def __init__(self, committed_as: str):
        self._committed_as = committed_as

    def process(self, element):
        _, grouped = element
        rows = list(grouped["new"])
        if not rows:
            return
        if any(True for _ in grouped["seen"]):
            for row in rows:
                yield beam.pvalue.TaggedOutput(self._committed_as, row["source"])
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
    """Article rows (+ optional PCollections of committed keys) -> unique new rows; `duplicates`, `seen` sources.

    `committed_ids` / `committed_urls`: ids and URLs earlier runs wrote; `run_committed_ids` /
    `run_committed_urls`: those earlier chunks of this run wrote. Rows are first made unique by id, then
    by URL (rows without a URL pass the second step). Rows with the same `content_hash` but different ids
    and URLs (the same text under two addresses) are all kept.
    """

    def __init__(self, committed_ids=None, run_committed_ids=None, committed_urls=None, run_committed_urls=None):
        super().__init__()
        self._committed = {"id": (committed_ids, run_committed_ids), "url": (committed_urls, run_committed_urls)}

    def _keyed(self, pipeline, keys, name: str):
        keys = keys if keys is not None else pipeline | f"No{name}" >> beam.Create([])
        return keys | f"Key{name}" >> beam.Map(lambda key: (key, True))

    def _unique_by(self, rows, field: str, committed_as: str):
        label = field.capitalize()
        earlier, this_run = self._committed[field]
        return (
            {
                "new": rows | f"KeyBy{label}" >> beam.Map(lambda row: (row[field], row)),
                "seen": self._keyed(rows.pipeline, earlier, f"Seen{label}s"),
                "this_run": self._keyed(rows.pipeline, this_run, f"RunCommitted{label}s"),
            }
            | f"GroupBy{label}" >> beam.CoGroupByKey()
            | f"KeepOnePer{label}" >> beam.ParDo(_KeepOne(committed_as)).with_outputs(DUPLICATES, SEEN, main="unique")
        )

    def expand(self, rows):
        by_id = self._unique_by(rows, "id", SEEN)
        with_url = by_id.unique | "HasUrl" >> beam.Partition(lambda row, _: int(row["url"] is None), 2)
        by_url = self._unique_by(with_url[0], "url", DUPLICATES)
        return {
            "unique": (by_url.unique, with_url[1]) | "UniqueRows" >> beam.Flatten(),
            DUPLICATES: (by_id[DUPLICATES], by_url[DUPLICATES]) | "AllDuplicates" >> beam.Flatten(),
            SEEN: by_id[SEEN],
        }
