"""What a run shows while it runs, on stderr.

- Batch, stderr a terminal: one live line, redrawn at most 4 times a second: the stage (`chunk 2/5`),
  records read, articles written, failures, and the rate.
- Batch, stderr not a terminal (cron, CI, a log file): at `--log-level INFO`, one log line per stage
  when it ends, with the same counts; nothing at the default WARNING.
- Streaming: one line per poll (feeds polled, new articles, errors), whatever stderr is, printed once
  every record the poll read has been deduplicated (or failed) and a later poll has started.

Counts come from the pipeline's own count events (`tally`, `tally_poll`), which only the process that
started the run reports: elsewhere (Beam worker processes, other runners) `_REPORTER` is None and the
taps do nothing, and stage lines still appear with the counts this process saw.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import threading
import time
from collections import Counter
from typing import TextIO

import apache_beam as beam

LOG = logging.getLogger("newsbeam.progress")
REDRAW_SECONDS = 0.25
SHOWN = ("read", "written", "failed")
# A poll's line waits until each record it read has an outcome (new, seen, duplicate or error) and a later
# poll has started, or at most this long after the poll (a record without a countable outcome must not
# hold the lines up; the first poll's records wait for the models to load).
POLL_LINE_WAIT_SECONDS = 120.0

_REPORTER: Progress | None = None


def plural(n: int, singular: str, many: str | None = None) -> str:
    """`1 article`, `2 articles`, `1,000 articles`."""
    return f"{n:,} {singular if n == 1 else many or singular + 's'}"


def summary_line(run_id: str, summary: dict, output: str, dry_run: bool = False) -> str:
    """The end-of-run line: what was written, skipped and failed, how long it took, where the summary is."""
    totals = summary["totals"]
    written = plural(totals["written"], "article") + (" would be written" if dry_run else " written")
    where = "dry run, nothing written" if dry_run else f"summary in {output}/_runs/{run_id}.json"
    skipped = sum(summary.get("skipped_files", {}).values())
    skipped_text = f", {plural(skipped, 'file')} of unknown type skipped" if skipped else ""
    return (f"newsbeam: run {run_id}: {written}, {totals['seen']:,} already in the dataset, "
            f"{plural(totals['duplicates'], 'duplicate')}, "
            f"{plural(totals['failed'], 'failed record or source', 'failed records or sources')}{skipped_text} "
            f"({summary['seconds']:.1f}s); {where}")  # fmt: skip


def _settled(counts: Counter) -> bool:
    """Whether every record a poll read has reached deduplication's verdict or became a dead letter."""
    outcomes = counts["new"] + counts["seen"] + counts["duplicates"] + counts["errors"]
    return counts["polled"] > 0 and outcomes >= counts["read"]


class Progress:
    """The driver's view of a batch run's progress: counts per stage, a live line or one log line per stage."""

    def __init__(self, stream: TextIO, live: bool):
        self.stream, self.live = stream, live
        self.lock = threading.Lock()
        self.stage, self.stage_started = "", time.monotonic()
        self.counts: Counter = Counter()
        self.drawn_at = 0.0
        self.polls: dict[float, Counter] = {}

    def add(self, field: str, n: int) -> None:
        with self.lock:
            self.counts[field] += n
            if self.live and time.monotonic() - self.drawn_at >= REDRAW_SECONDS:
                self._draw()

    def _rate(self) -> str:
        rate = self.counts["read"] / max(time.monotonic() - self.stage_started, 1e-6)
        return (f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}") + " records/s" if rate else ""

    def _counts_text(self) -> str:
        parts = [f"{field} {self.counts[field]:,}" for field in SHOWN]
        rate = self._rate()
        return ", ".join(parts) + (f" ({rate})" if rate else "")

    def _draw(self) -> None:
        self.drawn_at = time.monotonic()
        self.stream.write(f"\r\033[K{self.stage}: {self._counts_text()}")
        self.stream.flush()

    def begin(self, stage: str) -> None:
        with self.lock:
            self.stage, self.stage_started, self.counts = stage, time.monotonic(), Counter()
            if self.live:
                self._draw()

    def end(self, detail: str = "", failed: bool = False) -> None:
        """Close the current stage: its log line (not on a terminal), and a cleared live line."""
        with self.lock:
            seconds = time.monotonic() - self.stage_started
            outcome = "failed after" if failed else "done in"
            line = f"{self.stage} {outcome} {seconds:.1f} s: {detail or self._counts_text()}"
            if self.live:
                self.stream.write("\r\033[K")
                self.stream.flush()
            else:
                LOG.info(line)

    def poll(self, due: float, field: str, n: int) -> None:
        """Count a streaming event of the poll due at `due`, and print the lines of the polls that are done."""
        with self.lock:
            self.polls.setdefault(due, Counter())[field] += n
            while self.polls:
                first = min(self.polls)
                if not any(at > first for at in self.polls):
                    break
                if not _settled(self.polls[first]) and time.time() - first < POLL_LINE_WAIT_SECONDS:
                    break
                self._print_poll(first)

    def _print_poll(self, at: float) -> None:
        counts = self.polls.pop(at)
        when = dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%H:%M:%S")
        self.stream.write(f"newsbeam: poll {when} UTC: {plural(counts['polled'], 'feed')} polled, "
                          f"{plural(counts['new'], 'new article')}, {plural(counts['errors'], 'error')}\n")  # fmt: skip
        self.stream.flush()

    def finish(self) -> None:
        with self.lock:
            for at in sorted(self.polls):
                self._print_poll(at)


def start(stream: TextIO = sys.stderr) -> Progress:
    """Report progress of the runs this process starts from now on."""
    global _REPORTER
    _REPORTER = Progress(stream, live=stream.isatty())
    return _REPORTER


def stop() -> None:
    global _REPORTER
    if _REPORTER is not None:
        _REPORTER.finish()
    _REPORTER = None


@contextlib.contextmanager
def stage(name: str):
    """A stage of the run (the pipeline; or staging, the feeds, a chunk): begun, then ended with its counts.

    Yields a dict: a stage without count events of its own (staging) sets its outcome as `detail`.
    """
    outcome: dict = {}
    reporter = _REPORTER
    if reporter is not None:
        reporter.begin(name)
    try:
        yield outcome
    except BaseException:
        if reporter is not None:
            reporter.end(failed=True)
        raise
    if reporter is not None:
        reporter.end(outcome.get("detail", ""))


def tally(event: tuple) -> list:
    """Tap on the run's count events `((section, name, field), n)`: adds per-source counts to the live view."""
    (section, _, field), n = event
    if _REPORTER is not None and section == "sources":
        _REPORTER.add(field, n)
    return []


class TallyPoll(beam.DoFn):
    """Tap on a streaming collection: each element adds 1 to `field` of the poll it came from (its timestamp)."""

    def __init__(self, field: str):
        self._field = field

    def process(self, element, timestamp=beam.DoFn.TimestampParam):
        if _REPORTER is not None:
            _REPORTER.poll(float(timestamp), self._field, 1)
        return []
