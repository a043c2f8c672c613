"""The ingest pipeline: sources -> normalise -> deduplicate -> enrich -> Parquet, plus dead letters and counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from newsbeam.schemas import ARTICLE_SCHEMA, ERROR_SCHEMA
from newsbeam.transforms.enrich.enrich import EnrichArticles
from newsbeam.transforms.enrich.registry import ModelSpec
from newsbeam.transforms.normalise.dedup import DeduplicateArticles
from newsbeam.transforms.normalise.normalise import NormaliseArticles
from newsbeam.transforms.sink.feed_states import SaveFeedStates
from newsbeam.transforms.sink.parquet import WritePartitionedParquet
from newsbeam.transforms.sink.partitions import article_partition, error_partition
from newsbeam.transforms.sink.run_summary import WriteRunCounts, finish_run_summary
from newsbeam.transforms.sources import feed_state
from newsbeam.transforms.sources.fetch import FetchSettings
from newsbeam.transforms.sources.read import FEED_STATES, ReadSources
from newsbeam.transforms.sources.specs import SourceSpec
from newsbeam.pipelines.runner import OfflineDirectRunner, is_direct


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
    started_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    run_id: str = ""

    def __post_init__(self):
        self.run_id = self.run_id or new_run_id(self.started_at)

    @property
    def articles_dir(self) -> str:
        return FileSystems.join(self.output, "articles")

    @property
    def errors_dir(self) -> str:
        return FileSystems.join(self.output, "errors")


def _count(field: str):
    return lambda source: ((source, field), 1)


def _with_run_id(run_id: str):
    return lambda row: {**row, "run_id": run_id}


def build_ingest(pipeline: beam.Pipeline, config: IngestConfig) -> None:
    """Add the whole ingest graph to `pipeline`."""
    previous_states = feed_state.load(config.output)
    read = pipeline | "Sources" >> beam.Create(config.sources) | "Read" >> ReadSources(
        previous_states, config.fetch_settings
    )
    read[FEED_STATES] | "SaveFeedStates" >> SaveFeedStates(config.output, previous_states)
    normalised = read["records"] | "Normalise" >> NormaliseArticles(config.started_at, config.run_id)
    deduplicated = normalised.articles | "Deduplicate" >> DeduplicateArticles()
    enriched = deduplicated.unique | "Enrich" >> EnrichArticles(config.models)
    written = enriched.articles | "WriteArticles" >> WritePartitionedParquet(
        config.articles_dir, ARTICLE_SCHEMA, article_partition, f"part-{config.run_id}"
    )
    errors = (
        (read["errors"], normalised.errors, enriched.errors, written.errors)
        | "AllErrors" >> beam.Flatten()
        | "StampRunId" >> beam.Map(_with_run_id(config.run_id))
    )
    errors | "WriteErrors" >> WritePartitionedParquet(
        config.errors_dir, ERROR_SCHEMA, error_partition, f"part-{config.run_id}", sort_key="source"
    )
    counts = (
        read["records"] | "CountRead" >> beam.Map(lambda raw: ((raw["source"], "read"), 1)),
        deduplicated.duplicates | "CountDuplicates" >> beam.Map(_count("duplicates")),
        errors | "CountFailed" >> beam.Map(lambda row: ((row["source"], "failed"), 1)),
        written.written | "CountWritten" >> beam.MapTuple(lambda source, n: ((source, "written"), n)),
    ) | "AllCounts" >> beam.Flatten()
    counts | "RunCounts" >> WriteRunCounts(config.output, config.run_id)


def _feed_states_of_run(config: IngestConfig) -> dict:
    """The state of every feed URL this run named, as saved: validators, failures, next attempt."""
    urls = {spec.location for spec in config.sources if spec.is_url}
    return {url: state.to_dict() for url, state in feed_state.load(config.output).items() if url in urls}


def run_ingest(config: IngestConfig, options: PipelineOptions) -> dict:
    """Run the pipeline to completion and write the run summary; returns the summary document."""
    standard = options.view_as(StandardOptions)
    runner = OfflineDirectRunner() if is_direct(standard.runner) else None
    began = time.monotonic()
    pipeline = beam.Pipeline(runner=runner, options=options)
    build_ingest(pipeline, config)
    result = pipeline.run()
    result.wait_until_finish()
    finished = dt.datetime.now(dt.timezone.utc)
    summary = {
        "started_at": config.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "seconds": round(time.monotonic() - began, 3),
        "state": str(result.state),
        "runner": standard.runner or "DirectRunner",
        "output": config.output,
        "ner_models": {language: spec.label for language, spec in sorted(config.models.items())},
        "source_specs": [dataclasses.asdict(spec) for spec in config.sources],
        "feeds": _feed_states_of_run(config),
    }
    return finish_run_summary(config.output, config.run_id, summary)
