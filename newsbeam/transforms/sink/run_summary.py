"""The run summary `DIR/_runs/<run-id>.json`: counts per source from the pipeline, timings and versions from the driver."""

from __future__ import annotations

import json
import platform

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

import newsbeam
from newsbeam.transforms.sink.files import write_bytes_atomically

COUNT_FIELDS = ("read", "written", "duplicates", "failed")


def runs_dir(output: str) -> str:
    return FileSystems.join(output, "_runs")


def pending_counts_path(output: str, run_id: str) -> str:
    """Where the pipeline leaves its counts for the driver; hidden from readers by the dot prefix."""
    return FileSystems.join(runs_dir(output), f".counts-{run_id}.json")


def _write_counts(per_source: dict, path: str) -> None:
    counts = {source: {field: fields.get(field, 0) for field in COUNT_FIELDS} for source, fields in per_source.items()}
    write_bytes_atomically(path, json.dumps(counts, sort_keys=True).encode("utf-8"), mime_type="application/json")


class WriteRunCounts(beam.PTransform):
    """((source, field), n) pairs -> one JSON document of counts per source, for the driver to finish."""

    def __init__(self, output: str, run_id: str):
        super().__init__()
        self._path = pending_counts_path(output, run_id)

    def expand(self, events):
        path = self._path
        return (
            events
            | "SumPerSourceField" >> beam.CombinePerKey(sum)
            | "BySource" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1])))
            | "GroupBySource" >> beam.GroupByKey()
            | "FieldsAsDict" >> beam.MapTuple(lambda source, fields: (source, dict(fields)))
            | "AllSources" >> beam.combiners.ToDict()
            | "WriteCounts" >> beam.Map(_write_counts, path)
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


def finish_run_summary(output: str, run_id: str, summary: dict) -> dict:
    """Merge the pipeline's counts into `summary`, write `_runs/<run-id>.json` atomically, drop the pending file."""
    pending = pending_counts_path(output, run_id)
    sources = {}
    if FileSystems.exists(pending):
        with FileSystems.open(pending) as handle:
            sources = json.loads(handle.read().decode("utf-8"))
        FileSystems.delete([pending])
    totals = {field: sum(counts.get(field, 0) for counts in sources.values()) for field in COUNT_FIELDS}
    document = {**summary, "run_id": run_id, "totals": totals, "sources": sources, "versions": versions()}
    path = FileSystems.join(runs_dir(output), f"{run_id}.json")
    write_bytes_atomically(path, json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return document
