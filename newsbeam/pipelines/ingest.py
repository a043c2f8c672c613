"""The ingest pipeline: sources -> normalise -> deduplicate -> language -> enrich -> Parquet, plus dead letters and counts.

A batch run is one pipeline, or with `chunk_size` one per chunk of its file sources (see chunked.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from newsbeam.pipelines import progress
from newsbeam.pipelines.chunked import (
    chunk_counts_path,
    chunk_file_tag,
    delete_staged,
    stage_file_sources,
)
from newsbeam.pipelines.memory import release_free_memory
from newsbeam.pipelines.runner import new_pipeline, run_to_completion, runs_on_this_machine
from newsbeam.schemas import ARTICLE_SCHEMA, ERROR_SCHEMA
from newsbeam.transforms.enrich.enrich import EnrichArticles
from newsbeam.transforms.enrich.registry import ModelSpec
from newsbeam.transforms.normalise.dedup import DUPLICATES, SEEN, DeduplicateArticles
from newsbeam.transforms.normalise.detect import DetectLanguage, start_helper_early
from newsbeam.transforms.normalise.language import DEFAULT_LANGUAGES
from newsbeam.transforms.normalise.normalise import NormaliseArticles
from newsbeam.transforms.normalise.seen import (
    EARLIER_RUNS,
    EARLIER_RUNS_URLS,
    THIS_RUN,
    THIS_RUN_URLS,
    ReadCommittedIds,
)
from newsbeam.transforms.sink.feed_states import SaveFeedStates
from newsbeam.transforms.sink.parquet import WritePartitionedParquet
from newsbeam.transforms.sink.partitions import article_partition, error_partition
from newsbeam.transforms.sink.run_summary import (
    WriteRunCounts,
    finish_run_summary,
    partition_event,
    pending_counts_path,
    source_event,
)
from newsbeam.transforms.sources import feed_state
from newsbeam.transforms.sources.fetch import FetchSettings
from newsbeam.transforms.sources.read import FEED_STATES, ReadSources
from newsbeam.transforms.sources.specs import SourceSpec, resolve, skipped_files
from newsbeam.transforms.sources.staging import ReadStagedChunk


def new_run_id(now: dt.datetime) -> str:
    """Sortable and unique: UTC start time plus a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclasses.dataclass
class IngestConfig:
    """Everything one ingest run needs besides Beam's own options."""

    sources: list[SourceSpec]
    output: str
    models: dict[str, ModelSpec]
    fetch_settings: FetchSettings = dataclasses.field(default_factory=FetchSettings)
    since: dt.datetime | None = None  # keep articles published at or after
    until: dt.datetime | None = None  # keep articles published before
    dry_run: bool = False  # read, normalise and enrich, but write nothing to the output
    languages: tuple[str, ...] = DEFAULT_LANGUAGES  # candidates of language detection
    language_detection: str = "refined"  # a key of language.DETECTION_MODES
    chunk_size: int = 0  # run file sources in chunks of this many records (0: the whole input in one pipeline)
    started_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    run_id: str = ""
    counts_path: str = ""

    def __post_init__(self):
        self.sources = [resolve(spec) for spec in self.sources]  # a file is one source however it is spelled
        self.run_id = self.run_id or new_run_id(self.started_at)
        if not self.counts_path:
            # A dry run leaves the output untouched on a local disk; remote workers need a shared place,
            # so there the (hidden, deleted afterwards) counts file goes under the output.
            local_dry_run = self.dry_run and "://" not in self.output
            base = tempfile.mkdtemp(prefix="newsbeam-dry-run-") if local_dry_run else self.output
            self.counts_path = pending_counts_path(base, self.run_id)

    @property
    def articles_dir(self) -> str:
        return FileSystems.join(self.output, "articles")

    @property
    def errors_dir(self) -> str:
        return FileSystems.join(self.output, "errors")


class _WithinDates(beam.DoFn):
    """--since/--until: an article is kept when its trusted publication time is in [since, until)."""

    def __init__(self, since: dt.datetime | None, until: dt.datetime | None):
        self._since, self._until = since, until

    def process(self, row: dict):
        at = row["published_at"]
        if at is not None and (self._since is None or at >= self._since) and (self._until is None or at < self._until):
            yield row
        else:
            yield beam.pvalue.TaggedOutput("filtered", row["source"])


def _counter(field: str):
    return lambda source: source_event(source, field)


def build_ingest(pipeline: beam.Pipeline, config: IngestConfig, reader: beam.PTransform | None = None,
                 file_tag: str = "", detector_address: str | None = None) -> None:
    """Add the whole ingest graph to `pipeline`.

    `reader` replaces reading `config.sources` (a chunk's pass reads its staged chunk); `file_tag` tells
    the files of one chunk's pass apart, and marks the run's own earlier files for deduplication;
    `detector_address` is the language detector helper that workers on this machine share.
    """
    if reader is None:
        previous_states = feed_state.load(config.output)
        read = pipeline | "Sources" >> beam.Create(config.sources) | "Read" >> ReadSources(
            previous_states, config.fetch_settings, exclude=config.output
        )
    else:  # a staged chunk holds file records only: no feed states to read or save
        previous_states = {}
        read = pipeline | "Read" >> reader
    run_files = f"part-{config.run_id}"
    file_prefix = f"{run_files}-{file_tag}" if file_tag else run_files
    normalised = read["records"] | "Normalise" >> NormaliseArticles(config.started_at, config.run_id)
    articles, filtered = normalised.articles, None
    if config.since or config.until:
        bounded = articles | "WithinDates" >> beam.ParDo(_WithinDates(config.since, config.until)).with_outputs(
            "filtered", main="kept"
        )
        articles, filtered = bounded.kept, bounded.filtered
    committed = articles | "CommittedIds" >> ReadCommittedIds(config.articles_dir, f"{run_files}-" if file_tag else "")
    deduplicated = articles | "Deduplicate" >> DeduplicateArticles(
        committed[EARLIER_RUNS], committed[THIS_RUN], committed[EARLIER_RUNS_URLS], committed[THIS_RUN_URLS]
    )
    detected = deduplicated["unique"] | "Language" >> DetectLanguage(
        config.languages, config.language_detection, detector_address
    )
    enriched = detected.articles | "Enrich" >> EnrichArticles(config.models)
    errors = (read["errors"], normalised.errors, detected.errors, enriched["errors"])
    events = [
        read["records"] | "CountRead" >> beam.Map(lambda raw: source_event(raw["source"], "read")),
        deduplicated[DUPLICATES] | "CountDuplicates" >> beam.Map(_counter("duplicates")),
        deduplicated[SEEN] | "CountSeen" >> beam.Map(_counter("seen")),
    ]
    if filtered is not None:
        events.append(filtered | "CountFiltered" >> beam.Map(_counter("filtered")))
    if config.dry_run:
        events += [
            enriched["articles"] | "CountWouldWrite" >> beam.Map(lambda row: source_event(row["source"], "written")),
            enriched["articles"] | "PartitionWouldWrite" >> beam.Map(lambda row: partition_event(article_partition(row), 1)),
        ]
    else:
        written = enriched["articles"] | "WriteArticles" >> WritePartitionedParquet(
            config.articles_dir, ARTICLE_SCHEMA, article_partition, file_prefix
        )
        errors += (written.errors,)
        events += [
            written.written | "CountWritten" >> beam.MapTuple(lambda source, n: source_event(source, "written", n)),
            written.files | "CountPartitions" >> beam.MapTuple(lambda partition, _, n: partition_event(partition, n)),
        ]
        read[FEED_STATES] | "SaveFeedStates" >> SaveFeedStates(config.output, previous_states)
    all_errors = (
        errors
        | "AllErrors" >> beam.Flatten()
        | "StampRunId" >> beam.Map(lambda row, run_id: {**row, "run_id": run_id}, config.run_id)
    )
    if not config.dry_run:
        all_errors | "WriteErrors" >> WritePartitionedParquet(
            config.errors_dir, ERROR_SCHEMA, error_partition, file_prefix, sort_key="source"
        )
    events.append(all_errors | "CountFailed" >> beam.Map(lambda row: source_event(row["source"], "failed")))
    counts = tuple(events) | "AllCounts" >> beam.Flatten()
    counts | "RunCounts" >> WriteRunCounts(config.counts_path)
    counts | "Progress" >> beam.FlatMap(progress.tally)


def summary_header(config: IngestConfig, options: PipelineOptions, result, began: float) -> dict:
    """What every run summary starts with, batch or streaming: timing, state, runner, models, feed states."""
    urls = {spec.location for spec in config.sources if spec.is_url}
    return {
        "started_at": config.started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "seconds": round(time.monotonic() - began, 3),
        "state": str(result.state),
        "runner": options.view_as(StandardOptions).runner or "DirectRunner",
        "output": config.output,
        "ner_models": {language: spec.label for language, spec in sorted(config.models.items())},
        "source_specs": [dataclasses.asdict(spec) for spec in config.sources],
        # The state of every feed URL this run named, as saved: validators, failures, next attempt.
        "feeds": {url: state.to_dict() for url, state in feed_state.load(config.output).items() if url in urls},
    }


def _run_pipeline(config: IngestConfig, options: PipelineOptions, reader=None, file_tag: str = ""):
    pipeline = new_pipeline(options)
    build_ingest(pipeline, config, reader, file_tag, _local_detector(config, options))
    return run_to_completion(pipeline)


def _local_detector(config: IngestConfig, options: PipelineOptions) -> str | None:
    """The address of this process's language detector helper (started, or restarted, here) when the
    pipeline's workers run on this machine; None when they may run elsewhere."""
    if not runs_on_this_machine(options):
        return None
    return start_helper_early(config.languages, config.language_detection)


def _remote_loading(config: IngestConfig, options: PipelineOptions) -> None:
    """Ask a Dask cluster's workers to load the run's models while this process plans the pipeline."""
    if options.view_as(StandardOptions).runner == "dask":
        from newsbeam.pipelines.dask_workers import start_loading_on_workers

        start_loading_on_workers(options, config.languages, config.language_detection, config.models)


def _run_in_chunks(config: IngestConfig, options: PipelineOptions):
    """Stage the file sources, then one pipeline per chunk (and one for feed URLs, first); returns the
    last result, the pending counts files and the number of chunks."""
    directory = FileSystems.split(config.counts_path)[0]  # _runs/, or the dry run's temporary folder
    feeds = [spec for spec in config.sources if spec.is_url]
    files = [spec for spec in config.sources if not spec.is_url]
    try:
        with progress.stage("staging file sources") as outcome:
            result, chunks = stage_file_sources(
                files, directory, config.run_id, config.chunk_size, options, config.output
            )
            outcome["detail"] = f"{progress.plural(sum(n for _, n in chunks), 'record')} in " \
                                f"{progress.plural(len(chunks), 'chunk')}"  # fmt: skip
        passes = [(0, dataclasses.replace(config, sources=feeds), None)] if feeds else []
        passes += [(number, config, ReadStagedChunk(path)) for number, (path, _) in enumerate(chunks, 1)]
        pending = []
        for number, pass_config, reader in passes:
            pass_config = dataclasses.replace(pass_config, counts_path=chunk_counts_path(config.counts_path, number))
            pending.append(pass_config.counts_path)
            with progress.stage(f"chunk {number}/{len(chunks)}" if number else "feeds"):
                result = _run_pipeline(pass_config, options, reader, chunk_file_tag(number))
            release_free_memory()  # the next chunk starts from what is live, not from this one's peak
    finally:
        delete_staged(directory, config.run_id)
    return result, pending, len(chunks)


def run_ingest(config: IngestConfig, options: PipelineOptions) -> dict:
    """Run the pipeline (or its chunks) to completion and write the run summary (not in a dry run); returns it.

    A dry run never chunks: it writes nothing, so chunks could not see each other's articles.
    """
    began = time.monotonic()
    _local_detector(config, options)  # lingua builds while the input is staged and the pipeline planned
    _remote_loading(config, options)  # and on a Dask cluster, each worker's models
    if config.chunk_size and not config.dry_run and not all(spec.is_url for spec in config.sources):
        result, pending, chunks = _run_in_chunks(config, options)
    else:
        with progress.stage("dry run" if config.dry_run else "run"):
            result, pending, chunks = _run_pipeline(config, options), [config.counts_path], 0
    summary = {
        **summary_header(config, options, result, began),
        "dry_run": config.dry_run,
        "since": config.since.isoformat() if config.since else None,
        "until": config.until.isoformat() if config.until else None,
        "chunk_size": config.chunk_size,
        "chunks": chunks,
        "skipped_files": skipped_files(config.sources, config.output),  # files of unknown type inside folder sources
    }
    return finish_run_summary(config.output, config.run_id, summary, pending=pending, save=not config.dry_run)
