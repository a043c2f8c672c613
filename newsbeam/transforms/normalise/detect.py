"""DetectLanguage: each article row's language from its text, with the declared language as a hint.

It runs after deduplication, so a scheduled run that re-reads feeds pays detection only for articles it
has not seen before; until then a row's `language` holds the declared tag (normalised) or None.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import apache_beam as beam

from newsbeam.errors import dead_letter_from
from newsbeam.transforms.normalise.detector_process import (
    BatchFutures,
    HelperGone,
    helper_at,
    shared_helper,
    worth_a_helper,
)
from newsbeam.transforms.normalise.language import DEFAULT_LANGUAGES, DETECTION_MODES, LanguageDetector
from newsbeam.transforms.normalise.text import title_and_text
from newsbeam.transforms.sink.partitions import safe_language

ERRORS = "errors"
# Rows per lingua call: few calls per bundle, small enough to add no latency in streaming, where a bundle's
# last batch is flushed when the bundle ends.
BATCH_SIZE = 64
# Batches with the helper process while earlier rows go downstream: enough to keep the helper a few batches
# ahead of NER.
IN_FLIGHT = 4
# Batches whose refined rows may still be out: a batch's refinement can wait seconds for its high-accuracy
# models while NER goes on with the rows after it (and a bundle's end waits for them all anyway).
REFINING = 32
# A batch the helper has not answered in this long means a stuck helper: this process gives it up (ends it, when
# it is its own) and scores the batch here.
# Far above what a batch takes, even one that loads every high-accuracy model (seconds).
HELPER_TIMEOUT_SECONDS = 600


class _Detect(beam.DoFn):
    """Batches of rows in, each row with its language out (or its dead letter).

    Where there is more than one core, lingua runs in a helper process (`detector_process`): the next
    `IN_FLIGHT` batches are scored there while earlier rows go on downstream here. Rows whose texts need
    high-accuracy models follow their batch once those have loaded, so loading them never holds up the
    others. What the helper cannot score is scored here, and one row at a time if it fails again, so only
    the row that fails goes to the dead letters. With a `helper_address` (a run on this machine), every
    worker process sends its batches to the launcher's helper instead of starting one of its own.
    """

    def __init__(self, languages: tuple[str, ...], mode: str, helper_address: str | None = None):
        self._languages, self._mode, self._helper_address = languages, mode, helper_address
        self._detector = self._helper = None
        self._pending, self._refining = deque(), deque()

    def setup(self):
        options = DETECTION_MODES[self._mode]
        self._detector = LanguageDetector(self._languages, **options)  # without a helper, and for retries
        self._helper = _started_helper(self._languages, options, self._helper_address)
        if self._helper is None:
            self._detector.load()  # the low-accuracy models are built here, not on the first row

    def start_bundle(self):
        self._pending = deque()  # (element, submitted batch or its results): first passes not emitted yet
        self._refining = deque()  # (element, first-pass results, future of the rest): rows still being refined

    def process(self, rows: list[dict], element=beam.DoFn.WindowedValueParam):
        self._pending.append((element, self._start(rows)))
        if len(self._pending) > IN_FLIGHT:
            yield from self._emit_first(*self._pending.popleft())
        yield from self._emit_refined(wait=len(self._refining) > REFINING)

    def finish_bundle(self):
        while self._pending:
            yield from self._emit_first(*self._pending.popleft())
        while self._refining:
            yield from self._emit_refined(wait=True)

    def _start(self, rows: list[dict]) -> BatchFutures | list:
        """A batch's results: the helper's futures, or without a helper (or a batch it cannot take) the results."""
        if self._helper is None:
            return self._here(rows)
        try:
            texts, hints = _texts_and_hints(rows)
        except Exception:  # a row without the fields detection reads: scored here, one by one
            return self._here(rows)
        return self._helper.submit(texts, hints)

    def _emit_first(self, element, started: BatchFutures | list):
        results = started
        if isinstance(started, BatchFutures):
            results = self._helper_result(started.first)
            if results is None:
                results = self._here(element.value)
            elif None in results:
                self._refining.append((element, results, started.rest))
        yield from self._outputs(element, results)

    def _emit_refined(self, wait: bool):
        """The refined rows of the oldest batches whose refinement is done (after waiting for the oldest)."""
        while self._refining and (wait or self._refining[0][2].done()):
            wait = False
            element, first, future = self._refining.popleft()
            later = [i for i, result in enumerate(first) if result is None]
            refined = self._helper_result(future)
            if refined is None:
                refined = dict(zip(later, self._here([element.value[i] for i in later])))
            yield from self._outputs(element, [refined[i] if i in refined else None for i in range(len(first))])

    def _helper_result(self, future: Future):
        """What the helper answered, or None when it failed (the caller scores the rows here)."""
        try:
            return future.result(timeout=HELPER_TIMEOUT_SECONDS)
        except FutureTimeout:
            self._helper.give_up()  # stuck: its pending batches fail, and the rest is scored in this process
            self._helper = None
        except HelperGone:  # killed, out of memory: the rest is scored in this process
            self._helper = None
        except Exception:
            pass
        return None

    def _here(self, rows: list[dict]) -> list:
        """Rows scored in this process: as a batch, then one by one if the batch fails."""
        try:
            return self._detector.detect_many(*_texts_and_hints(rows))
        except Exception:
            return [self._detect_one(row) for row in rows]

    def _outputs(self, element, results: list):
        """Each row with its result (None: not yet) as an output of the batch's window, or its dead letter."""
        for row, result in zip(element.value, results):
            if result is None:
                continue
            if isinstance(result, Exception):
                dead_letter = dead_letter_from(row["source"], result, "normalise", row["id"])
                yield beam.pvalue.TaggedOutput(ERRORS, element.with_value(dead_letter))
            else:
                language, confidence = result
                yield element.with_value({**row, "language": safe_language(language), "language_confidence": confidence})

    def _detect_one(self, row: dict) -> tuple[str, float | None] | Exception:
        try:
            return self._detector.detect(title_and_text(row), hint=row["language"])
        except Exception as error:
            return error


def _texts_and_hints(rows: list[dict]) -> tuple[list[str], list[str | None]]:
    return [title_and_text(row) for row in rows], [row["language"] for row in rows]


def _started_helper(languages: tuple[str, ...], options: dict, address: str | None = None):
    """The helper to send batches to: the one at `address` when the run gave one and it answers, else this
    process's own; None where detection stays in this process (one core, or, logged, no helper started)."""
    if not worth_a_helper():
        return None
    if address:
        try:
            return helper_at(address)
        except OSError as error:
            logging.warning("newsbeam: no language detector at %s, this process starts its own: %s", address, error)
    try:
        return shared_helper(tuple(languages), options)
    except OSError as error:
        logging.warning("newsbeam: language detection stays in this process, its helper did not start: %s", error)
        return None


def start_helper_early(languages: tuple[str, ...], mode: str) -> str | None:
    """Start the helper of a run on this machine, so that lingua builds while the pipeline is planned; returns
    its address for `DetectLanguage`, through which Beam's local worker processes share it (None: no helper)."""
    helper = _started_helper(languages, DETECTION_MODES[mode])
    return helper.address if helper is not None else None


class DetectLanguage(beam.PTransform):
    """Article rows -> rows with `language` and `language_confidence` detected (main) and dead letters (`errors`).

    `languages` are the candidates (ISO 639-1); `mode` is a key of `DETECTION_MODES`, the trade between
    accuracy on short texts and a worker's memory and CPU. `helper_address` is what `start_helper_early`
    returned, for a pipeline whose workers run on this machine.
    """

    def __init__(self, languages: tuple[str, ...] = DEFAULT_LANGUAGES, mode: str = "refined",
                 helper_address: str | None = None):
        super().__init__()
        if mode not in DETECTION_MODES:
            raise ValueError(f"unknown language detection mode {mode!r}; choose from {sorted(DETECTION_MODES)}")
        self._languages, self._mode, self._helper_address = tuple(languages), mode, helper_address

    def expand(self, rows):
        detect = _Detect(self._languages, self._mode, self._helper_address)
        return (
            rows
            | "Batch" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
            | "DetectLanguage" >> beam.ParDo(detect).with_outputs(ERRORS, main="articles")
        )
