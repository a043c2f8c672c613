"""The run summary `DIR/_runs/<run-id>.json`: counts per source from the pipeline, timings and versions from the driver."""

from __future__ import annotations

import json
import platform

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

import newsbeam
from newsbeam.transforms.sink.files import write_bytes_atomically

# Per source: read from it, written, dropped as a copy within the run, already in the dataset,
# outside --since/--until, and dead letters.
COUNT_FIELDS = ("read", "written", "duplicates", "seen", "filtered", "failed")


def runs_dir(output: str) -> str:
    return FileSystems.join(output, "_runs")


def pending_counts_path(output: str, run_id: str) -> str:
    """Where the pipeline leaves its counts for the driver; hidden from readers by the dot prefix."""
    return FileSystems.join(runs_dir(output), f".counts-{run_id}.json")


def source_event(source: str, field: str, n: int = 1):
    return (("sources", source, field), n)


def partition_event(partition: str, n: int):
    return (("partitions", partition, "written"), n)


def _write_counts(events: list, path: str) -> None:
    document: dict = {"sources": {}, "partitions": {}}
    for (section, name, field), n in events:
        document[section].setdefault(name, {})[field] = n
    for fields in document["sources"].values():
        for field in COUNT_FIELDS:
            fields.setdefault(field, 0)
    write_bytes_atomically(path, json.dumps(document, sort_keys=True).encode("utf-8"), mime_type="application/json")


class WriteRunCounts(beam.PTransform):
    """((section, name, field), n) events -> one JSON document of summed counts, for the driver to finish."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, events):
        return (
            events
            | "Sum" >> beam.CombinePerKey(sum)
            | "Collect" >> beam.combiners.ToList().without_defaults()
            | "WriteCounts" >> beam.Map(_write_counts, self._path)
        )


def versions() -> dict:
    """Versions of the components that shape the output, recorded with every run."""
    import apache_beam
    import feedparser
    import pyarrow
    import spacy

    return {
        "newsbeam": newsbeam.__version__,
        "python": platform.python_version(),
        "apache_beam": apache_beam.__version__,
        "spacy": spacy.__version__,
        "feedparser": feedparser.__version__,
        "pyarrow": pyarrow.__version__,
    }


def _add_counts(total: dict, part: dict) -> None:
    for section, names in part.items():
        for name, fields in names.items():
            into = total[section].setdefault(name, {})
            for field, n in fields.items():
                into[field] = into.get(field, 0) + n


def finish_run_summary(output: str, run_id: str, summary: dict, *, pending: list[str], save: bool = True) -> dict:
    """Sum the pipelines' pending counts into `summary`, write `_runs/<run-id>.json` atomically, drop the pending files.

    One pending file per pipeline: a chunked run has one per chunk.
    """
    counts = {"sources": {}, "partitions": {}}
    for path in pending:
        if FileSystems.exists(path):
            with FileSystems.open(path) as handle:
                _add_counts(counts, json.loads(handle.read().decode("utf-8")))
            FileSystems.delete([path])
    sources = counts["sources"]
    totals = {field: sum(fields.get(field, 0) for fields in sources.values()) for field in COUNT_FIELDS}
    document = {**summary, "run_id": run_id, "totals": totals, **counts, "versions": versions()}
    if save:
        path = FileSystems.join(runs_dir(output), f"{run_id}.json")
        write_bytes_atomically(path, json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return document
