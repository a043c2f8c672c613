"""Streaming ingest (`newsbeam ingest --streaming`): follow feed URLs, write new articles while running.

The graph:

    PollTicks ─> (url, tick) ─> PollFeed ─> NormaliseArticles ─> DropCommitted ─> FirstSighting ─> FirstSighting ─>
    (a tick per poll          (stateful,                       (side inputs:    (stateful,       (stateful, keyed
     interval)                 keyed by URL)                     dataset's ids    keyed by id)     by article URL)
                                                                 and URLs)
        WindowInto(FixedWindows(poll interval)) ─> DetectLanguage ─> EnrichArticles ─> WriteBundles (articles/, errors/)

- Polling. `PollTicks` emits one tick per poll interval, timestamped with its due time (the event
  time of everything that poll reads). Each tick fans out to every feed URL. `PollFeed`, a stateful
  DoFn keyed by URL, keeps the feed's `FeedState` (ETag / Last-Modified validators, failures, back-off,
  Retry-After) from poll to poll, starting from `<output>/_state/feeds.json`: a feed is fetched only
  when `feed_state.due`, `fetch` does the conditional GET, retries and limits, and `after_success` /
  `after_failure` give the next state. Each fetch also emits the new state; when the run ends the
  latest per URL is merged into the store (`SaveFeedStates`).
- Deduplication across polls and restarts. The ids and URLs already in the dataset are read once at
  start-up (the `id` and `url` columns of every visible article file) and reach `DropCommitted` as side
  inputs: those articles count as `seen` (the same id) or `duplicates` (the same URL under another id).
  `FirstSighting`, keyed by article id, keeps the tick that first let the id through: a later poll of the
  same article is `seen`, another copy in the same tick (the same article in two feeds) a `duplicate`. A
  second `FirstSighting`, keyed by canonical URL, drops a syndicated copy under another id as a
  `duplicate`. So each article is written once per dataset.
- Windows and files. Unique rows go into fixed event-time windows one poll interval long, are enriched
  (`EnrichArticles`: RunInference NER, sentiment) and `WriteBundles` writes each bundle's rows per
  window and Hive partition, through the batch writer's `write_partition_files`, as
  `articles/date=.../lang=.../part-<run-id>-<window start>-<bundle>-NNNNN.parquet` (dead letters in
  `errors/date=.../`). Files appear atomically a few seconds after each poll; names never collide.
- Counts. Count events are re-windowed into the global window, fired once when the watermark reaches
  the end, and summed; the driver then writes `_runs/<run-id>.json` as a batch run does.
- Stopping. `--stop-after` bounds `PollTicks`: the last position of its restriction is the stop
  time, claimed without a tick. SIGINT / SIGTERM set `STOP`, and `PollTicks` claims the rest of its
  restriction within `_NAP` seconds (a second signal interrupts at once, exit status 130). Either way
  the source finishes, the watermark goes to +infinity, everything in flight is processed and written,
  the end-of-run aggregations fire, `run_streaming` returns and the CLI exits 0.

What Beam 2.77's Python DirectRunner (its bundle-based runner, used for streaming) allows shaped this:
- `PeriodicImpulse` fails on it: the runner expands SDFs into a GroupByKey after applying its streaming
  GroupByKey override ("Transform node ... was not replaced as expected", as in Beam #21103);
  `defer_remainder` then fails `check_done`, because the runner consumes `process`'s output only after
  that check; and its own checkpoint keeps the SDK's split result where the residual restriction
  belongs. Hence `_StreamingDirectRunner` expands SDFs before the runner's overrides, `PollTicks`
  claims eagerly (returns a list) until the runner checkpoints it, and `_as_range` unwraps the split
  result. The runner executes all steps on one thread, which PollTicks holds until its checkpoint, so
  `_prompt_checkpoints` shortens that from 1 s to `_CHECKPOINT_SECONDS`: the delay an item collects
  at each step it passes.
- The runner holds an SDF's output watermark at -infinity until the SDF finishes. A GroupByKey after
  PollTicks emitted nothing while the pipeline ran (in fixed windows, with or without early firings,
  not even at the end; in the global window with a processing-time trigger, only at the end), and an
  event-time timer fires only at the end. Hence rows are written per bundle, not per window after a
  GroupByKey, state is checked as elements arrive, and only the end-of-run aggregations group.

On Flink or Dataflow the graph runs with `--runner FlinkRunner|DataflowRunner` in streaming mode and
without `--stop-after`: there `PollTicks` is better replaced by `PeriodicImpulse(start, MAX_TIMESTAMP,
poll_interval)` (the same timestamped ticks, with a real watermark, and no thread held while waiting),
and the job is stopped with a drain (`gcloud dataflow jobs drain`, `flink stop --drain`): the drain
truncates the impulse, the watermark advances to infinity, and the end-of-run counts and feed states
fire as they do here. Windows then close on the watermark, so the windowed `WritePartitionedParquet`
(a GroupByKey per window, its file prefix with `window_label`) becomes possible and is the better writer
there: a retried bundle rewrites the same file names, where `WriteBundles` would write new names. `STOP`
and the signal handlers only act in this process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import signal
import threading
import time
import typing
import uuid
from collections import defaultdict
from collections.abc import Callable

import apache_beam as beam
import pyarrow as pa
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.direct.transform_evaluator import _ProcessElementsEvaluator
from apache_beam.runners.direct.sdf_direct_runner import (
    ProcessKeyedElementsViaKeyedWorkItemsOverride,
    SplittableParDoOverride,
)
from apache_beam.transforms import trigger, userstate, window
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.errors import dead_letter_from
from newsbeam.pipelines import progress
from newsbeam.pipelines.ingest import IngestConfig, summary_header
from newsbeam.pipelines.runner import OfflineDirectRunner, is_direct
from newsbeam.schemas import ARTICLE_SCHEMA, ERROR_SCHEMA
from newsbeam.transforms.enrich.enrich import EnrichArticles
from newsbeam.transforms.normalise.dedup import DUPLICATES, SEEN
from newsbeam.transforms.normalise.detect import DetectLanguage
from newsbeam.transforms.normalise.normalise import NormaliseArticles
from newsbeam.transforms.normalise.seen import OpenArticleFiles, read_columns
from newsbeam.transforms.sink.feed_states import SaveFeedStates
from newsbeam.transforms.sink.parquet import ERRORS, WRITTEN, write_partition_files
from newsbeam.transforms.sink.partitions import article_partition, error_partition
from newsbeam.transforms.sink.run_summary import WriteRunCounts, finish_run_summary, partition_event, source_event
from newsbeam.transforms.sources import feed_state, feeds
from newsbeam.transforms.sources.fetch import FetchSettings, fetch
from newsbeam.transforms.sources.read import FEED_STATES
from newsbeam.transforms.sources.specs import SourceSpec

# Set by SIGINT/SIGTERM (or a test): PollTicks stops ticking and the pipeline drains. In-process only.
STOP = threading.Event()
# Restriction size when there is no --stop-after: ticks for longer than anyone will run a process.
_FOREVER = 2**62
_MAX_ROWS_PER_FILE = 50_000
# How often a waiting PollTicks looks at the clock, at STOP and for the runner's checkpoint.
_NAP = 0.05
# How long PollTicks runs before the DirectRunner checkpoints it (Beam's default: 1 s); see _prompt_checkpoints.
_CHECKPOINT_SECONDS = 0.25


# Ticks.


def _tick_count(element: tuple) -> int:
    """Positions in the tick restriction: one per tick before the stop time, plus the stop time itself."""
    start, interval, stop_at = element
    return _FOREVER if stop_at is None else max(1, math.ceil((stop_at - start) / interval)) + 1


def _due(element: tuple, index: int) -> float:
    start, interval, stop_at = element
    return start + interval * index if stop_at is None else min(start + interval * index, stop_at)


def _as_range(restriction) -> OffsetRange:
    """The restriction, also when Beam 2.77's DirectRunner hands back its checkpoint's raw split result.

    Its SDF checkpoint keeps `[SplitResultResidual(residual_value=WindowedValue((((element),
    (restriction, watermark_state)), size)))]` where the residual restriction belongs.
    """
    if isinstance(restriction, OffsetRange):
        return restriction
    return restriction[0].residual_value.value[0][1][0]


class _TickRange(RestrictionProvider):
    """Tick indexes [0, n); truncated to nothing on drain, so a drained job stops ticking at once."""

    def initial_restriction(self, element):
        return OffsetRange(0, _tick_count(element))

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(_as_range(restriction))

    def restriction_size(self, element, restriction):
        return _as_range(restriction).size()

    def truncate(self, element, restriction):
        return None


class PollTicks(beam.DoFn):
    """(start, interval, stop_at or None) -> tick index i at event time start + i * interval, in real time.

    A splittable DoFn that claims each tick when its time has come, until the runner checkpoints it (the
    DirectRunner splits the restriction after `_CHECKPOINT_SECONDS`), which ends the call and hands the
    ticks claimed so far downstream. `process` returns a list rather than being a generator because the
    DirectRunner consumes a generator only after checking that the restriction is done.
    """

    @beam.DoFn.unbounded_per_element()
    def process(self, element, tracker=beam.DoFn.RestrictionParam(_TickRange())):
        final = _tick_count(element) - 1 if element[2] is not None else None
        ticks = []
        index = tracker.current_restriction().start
        while index < tracker.current_restriction().stop:
            if STOP.is_set():
                tracker.try_claim(tracker.current_restriction().stop - 1)
                break
            wait = _due(element, index) - time.time()
            if wait > 0:
                STOP.wait(min(wait, _NAP))
                continue
            if not tracker.try_claim(index):
                break
            if index != final:  # the stop time itself is claimed without a tick
                ticks.append(window.TimestampedValue(index, Timestamp.of(_due(element, index))))
            index += 1
        return ticks


# Polling.


class PollFeed(beam.DoFn):
    """(url, tick) -> raw records of the feed (main), dead letters (`errors`), and after every fetch the
    feed's new state as (url, (polled_at, FeedState)) in `feed_states`; the state carries over to the next poll.

    The states leave with each poll rather than from an end-of-run timer: on Beam 2.77's DirectRunner what
    such a timer emitted never reached the aggregation after it (it arrived behind the watermark).
    """

    STATE = userstate.BagStateSpec("feed_state", PickleCoder())

    def __init__(self, specs: dict[str, SourceSpec], previous: dict[str, feed_state.FeedState], settings: FetchSettings):
        self._specs = specs
        self._previous = previous
        self._settings = settings

    def process(self, element, stored=beam.DoFn.StateParam(STATE)):
        url, _ = element
        state = next(iter(stored.read()), None) or self._previous.get(url) or feed_state.FeedState(url)
        now = dt.datetime.now(dt.timezone.utc)
        if not feed_state.due(state, now):  # backing off, or the server's Retry-After has not passed
            return
        spec = self._specs[url]
        try:
            result = fetch(url, state.validators(), self._settings)
            records = [] if result.not_modified else list(feeds.parse_feed(
                result.body, source=url, headers=result.headers, base_url=result.final_url,
                source_name=spec.name, language_hint=spec.language))  # fmt: skip
            state = feed_state.after_success(state, result, now)
        except Exception as error:  # a failing feed is retried on a later tick, the others go on
            records = []
            state = feed_state.after_failure(state, error, now)
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(url, error, "fetch"))
        stored.clear()
        stored.add(state)
        yield beam.pvalue.TaggedOutput(FEED_STATES, (url, (now.timestamp(), state)))
        yield from records


def _latest(polled: typing.Iterable[tuple]) -> tuple:
    """Of several (polled_at, FeedState), the most recent."""
    return max(polled, key=lambda pair: pair[0])


# Deduplication.


class DropCommitted(beam.DoFn):
    """Rows whose id the dataset already holds become `seen`, rows whose URL it holds (under another id)
    `duplicates` (their source); the rest pass as (id, row).

    The committed ids and URLs (side inputs in the global window) are the same for the whole run: they are
    turned into sets once per DoFn instance.
    """

    def setup(self):
        self._ids: frozenset | None = None
        self._urls: frozenset | None = None

    def process(self, row: dict, ids, urls):
        if self._ids is None:
            self._ids, self._urls = frozenset(ids), frozenset(urls)
        if row["id"] in self._ids:
            yield beam.pvalue.TaggedOutput(SEEN, row["source"])
        elif row.get("url") in self._urls:
            yield beam.pvalue.TaggedOutput(DUPLICATES, row["source"])
        else:
            yield row["id"], row


class FirstSighting(beam.DoFn):
    """(key, row) -> the row the first time the key is seen; later polls `seen`, same-tick copies `duplicates`.

    The state is the event time (µs) of the tick that wrote the key, kept for the whole run. Keyed by URL
    (`later_polls=DUPLICATES`), a later row is another id for an article already written: a duplicate.
    """

    FIRST = userstate.BagStateSpec("first_tick", VarIntCoder())

    def __init__(self, later_polls: str = SEEN):
        self._later_polls = later_polls

    def process(self, element, timestamp=beam.DoFn.TimestampParam, first=beam.DoFn.StateParam(FIRST)):
        _, row = element
        accepted = next(iter(first.read()), None)
        if accepted is None:
            first.add(timestamp.micros)
            yield row
        else:
            yield beam.pvalue.TaggedOutput(DUPLICATES if accepted == timestamp.micros else self._later_polls, row["source"])


class DeduplicateStream(beam.PTransform):
    """Article rows (+ committed ids and URLs) -> rows never written before (`unique`), `seen` and `duplicates`
    sources. An article is one article when its id or its canonical URL matches an earlier one."""

    def __init__(self, committed_ids: beam.PCollection, committed_urls: beam.PCollection | None = None):
        super().__init__()
        self._committed_ids = committed_ids
        self._committed_urls = committed_urls

    def expand(self, rows):
        urls = self._committed_urls if self._committed_urls is not None else rows.pipeline | "NoUrls" >> beam.Create([])
        fresh = rows | "DropCommitted" >> beam.ParDo(
            DropCommitted(), beam.pvalue.AsList(self._committed_ids), beam.pvalue.AsList(urls)
        ).with_output_types(typing.Tuple[str, typing.Any]).with_outputs(SEEN, DUPLICATES, main="fresh")
        first = fresh.fresh | "FirstSighting" >> beam.ParDo(FirstSighting()).with_outputs(
            SEEN, DUPLICATES, main="unique"
        )
        by_url = first.unique | "HasUrl" >> beam.Partition(lambda row, _: int(not row.get("url")), 2)
        first_url = (
            by_url[0]
            | "KeyByUrl" >> beam.Map(lambda row: (row["url"], row)).with_output_types(typing.Tuple[str, typing.Any])
            | "FirstSightingOfUrl" >> beam.ParDo(FirstSighting(DUPLICATES)).with_outputs(DUPLICATES, main="unique")
        )
        return {
            "unique": (first_url.unique, by_url[1]) | "UniqueRows" >> beam.Flatten(),
            SEEN: (fresh[SEEN], first[SEEN]) | "AllSeen" >> beam.Flatten(),
            DUPLICATES: (fresh[DUPLICATES], first[DUPLICATES], first_url[DUPLICATES]) | "AllDuplicates" >> beam.Flatten(),
        }


# Writing.


def window_label(w: window.BoundedWindow) -> str:
    """The window's start in file names, e.g. `20261126T072000Z` (microseconds when not whole seconds)."""
    start = w.start.to_utc_datetime()
    return f"{start:%Y%m%dT%H%M%S}{f'{start:%f}' if start.microsecond else ''}Z"


class WriteBundles(beam.DoFn):
    """Windowed rows -> Parquet files per window and Hive partition, written when each bundle finishes.

    Outputs as `WritePartitionedParquet`: main (partition, path, rows), `written` (source, rows), `errors`.
    """

    def __init__(self, base_path: str, schema: pa.Schema, partition: Callable[[dict], str], run_id: str,
                 sort_key: str = "id"):  # fmt: skip
        self._base_path = base_path
        self._schema = schema
        self._partition = partition
        self._run_id = run_id
        self._sort_key = sort_key
        self._groups: dict = {}

    def start_bundle(self):
        self._groups = defaultdict(list)

    def process(self, row: dict, w=beam.DoFn.WindowParam):
        self._groups[(w, self._partition(row))].append(row)

    def finish_bundle(self):
        bundle = uuid.uuid4().hex[:8]
        for (w, partition), rows in self._groups.items():
            prefix = f"part-{self._run_id}-{window_label(w)}-{bundle}"
            for output in write_partition_files(self._base_path, partition, rows, self._schema, prefix,
                                                _MAX_ROWS_PER_FILE, self._sort_key):  # fmt: skip
                if isinstance(output, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(output.tag, WindowedValue(output.value, w.max_timestamp(), [w]))
                else:
                    yield WindowedValue(output, w.max_timestamp(), [w])


# The pipeline.


def _at_end(label: str) -> beam.WindowInto:
    """Into the global window, fired once when the watermark reaches the end: when the stream stops or drains."""
    return label >> beam.WindowInto(window.GlobalWindows(), trigger=trigger.AfterWatermark(),
                                    accumulation_mode=trigger.AccumulationMode.DISCARDING)  # fmt: skip


def _counts(pcoll, label: str, event: Callable) -> beam.PCollection:
    """Count events, summed once, when the run ends."""
    return pcoll | f"{label}Events" >> beam.Map(event) | _at_end(f"{label}AtEnd")


def build_streaming(pipeline: beam.Pipeline, config: IngestConfig, *, poll_interval: float, stop_after: float | None,
                    started: float) -> None:  # fmt: skip
    """Add the streaming graph to `pipeline`; polls start at `started` (epoch seconds)."""
    specs = {spec.location: spec for spec in config.sources}
    previous_states = feed_state.load(config.output)
    stop_at = started + stop_after if stop_after is not None else None
    ticks = (
        pipeline
        | "Start" >> beam.Create([(started, poll_interval, stop_at)])
        | "PollTicks" >> beam.ParDo(PollTicks())
    )
    polled = (
        ticks
        | "PerFeed" >> beam.FlatMap(lambda tick: [(url, tick) for url in specs]).with_output_types(
            typing.Tuple[str, int]
        )
        | "PollFeeds" >> beam.ParDo(PollFeed(specs, previous_states, config.fetch_settings)).with_outputs(
            ERRORS, FEED_STATES, main="records"
        )
    )
    normalised = polled.records | "Normalise" >> NormaliseArticles(None, config.run_id)  # stamped per record
    committed = (
        pipeline
        | "ArticleFiles" >> OpenArticleFiles(config.articles_dir)
        | "CommittedKeys" >> beam.Map(lambda readable: read_columns(readable, ["id", "url"]))
    )
    committed_ids = committed | "CommittedIds" >> beam.FlatMap(lambda table: table.column("id").to_pylist())
    committed_urls = committed | "CommittedUrls" >> beam.FlatMap(
        lambda table: [url for url in table.column("url").to_pylist() if url]
    )
    deduplicated = normalised.articles | "Deduplicate" >> DeduplicateStream(committed_ids, committed_urls)
    windowing = window.FixedWindows(poll_interval, offset=started % poll_interval)
    detected = (
        deduplicated["unique"]
        | "Window" >> beam.WindowInto(windowing)
        | "Language" >> DetectLanguage(config.languages, config.language_detection)
    )
    enriched = detected.articles | "Enrich" >> EnrichArticles(config.models)
    written = enriched["articles"] | "WriteArticles" >> beam.ParDo(
        WriteBundles(config.articles_dir, ARTICLE_SCHEMA, article_partition, config.run_id)
    ).with_outputs(WRITTEN, ERRORS, main="files")
    early_errors = (polled[ERRORS], normalised.errors) | "EarlyErrors" >> beam.Flatten()
    all_errors = (
        (early_errors | "WindowErrors" >> beam.WindowInto(windowing), detected.errors, enriched["errors"], written[ERRORS])
        | "AllErrors" >> beam.Flatten()
        | "StampRunId" >> beam.Map(lambda row, run_id: {**row, "run_id": run_id}, config.run_id)
    )
    all_errors | "WriteErrors" >> beam.ParDo(
        WriteBundles(config.errors_dir, ERROR_SCHEMA, error_partition, config.run_id, sort_key="source")
    ).with_outputs(WRITTEN, ERRORS, main="files")
    (
        polled[FEED_STATES]
        | _at_end("StatesAtEnd")
        | "LatestState" >> beam.CombinePerKey(_latest)
        | "DropPollTime" >> beam.MapTuple(lambda url, latest: (url, latest[1]))
        | "SaveFeedStates" >> SaveFeedStates(config.output, previous_states)
    )
    events = (
        _counts(polled.records, "Read", lambda raw: source_event(raw["source"], "read")),
        _counts(deduplicated[SEEN], "Seen", lambda source: source_event(source, "seen")),
        _counts(deduplicated[DUPLICATES], "Duplicates", lambda source: source_event(source, "duplicates")),
        _counts(written[WRITTEN], "Written", lambda pair: source_event(pair[0], "written", pair[1])),
        _counts(written.files, "Partitions", lambda file: partition_event(file[0], file[2])),
        _counts(all_errors, "Failed", lambda row: source_event(row["source"], "failed")),
    )
    events | "AllCounts" >> beam.Flatten() | "RunCounts" >> WriteRunCounts(config.counts_path)
    for field, pcoll in (("polled", polled[FEED_STATES]), ("read", polled.records), ("new", deduplicated["unique"]),
                         ("seen", deduplicated[SEEN]), ("duplicates", deduplicated[DUPLICATES]), ("errors", early_errors)):
        pcoll | f"Progress{field.title()}" >> beam.ParDo(progress.TallyPoll(field))  # fmt: skip


class _StreamingDirectRunner(OfflineDirectRunner):
    """OfflineDirectRunner that expands splittable DoFns before Beam's DirectRunner applies its overrides.

    Beam 2.77 applies its streaming GroupByKey override before the GroupByKey that its SDF expansion
    adds, and then fails with "Transform node ... was not replaced as expected" (Beam #21103).
    """

    def run_pipeline(self, pipeline, options):
        pipeline.replace_all([SplittableParDoOverride(), ProcessKeyedElementsViaKeyedWorkItemsOverride()])
        return super().run_pipeline(pipeline, options)


@contextlib.contextmanager
def _prompt_checkpoints(seconds: float):
    """Have the DirectRunner checkpoint splittable DoFns after `seconds` instead of 1 s, while running.

    The streaming DirectRunner runs every step on one thread, and PollTicks holds it until checkpointed:
    the checkpoint interval is a delay added at every step an item passes through.
    """
    default = _ProcessElementsEvaluator.DEFAULT_MAX_DURATION
    _ProcessElementsEvaluator.DEFAULT_MAX_DURATION = seconds
    try:
        yield
    finally:
        _ProcessElementsEvaluator.DEFAULT_MAX_DURATION = default


@contextlib.contextmanager
def _stop_on_signals():
    """While running: the first SIGINT/SIGTERM sets STOP (graceful stop), a second one interrupts at once.

    Signal handlers can only be installed from the main thread; elsewhere only STOP stops the run.
    """
    STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in signals}

    def handle(signum, frame):
        if STOP.is_set():
            raise KeyboardInterrupt
        STOP.set()

    for signum in signals:
        signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_streaming(config: IngestConfig, options: PipelineOptions, *, poll_interval: float,
                  stop_after: float | None) -> dict:  # fmt: skip
    """Follow the feeds until `stop_after` seconds have passed or a signal arrives; returns the run summary.

    Writes `_runs/<run-id>.json` (with the counts of the whole run) and the feeds' state when it stops.
    """
    options.view_as(StandardOptions).streaming = True
    standard = options.view_as(StandardOptions)
    runner = _StreamingDirectRunner() if is_direct(standard.runner) else None
    began = time.monotonic()
    with _stop_on_signals(), _prompt_checkpoints(_CHECKPOINT_SECONDS):
        pipeline = beam.Pipeline(runner=runner, options=options)
        started = math.floor(time.time())  # whole seconds: window starts (and file names) stay short
        build_streaming(pipeline, config, poll_interval=poll_interval, stop_after=stop_after, started=started)
        result = pipeline.run()
        result.wait_until_finish()
        stopped_by = "signal" if STOP.is_set() else "stop_after"
    summary = {
        **summary_header(config, options, result, began),
        "dry_run": False,
        "streaming": {"poll_interval": poll_interval, "stop_after": stop_after, "stopped_by": stopped_by},
    }
    return finish_run_summary(config.output, config.run_id, summary, pending=[config.counts_path])
