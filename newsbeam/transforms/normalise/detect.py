"""DetectLanguage: each article row's language from its text, with the declared language as a hint.

It runs after deduplication, so a scheduled run that re-reads feeds pays detection only for articles it
has not seen before; until then a row's `language` holds the declared tag (normalised) or None.
"""

from __future__ import annotations

import apache_beam as beam

from newsbeam.errors import dead_letter_from
from newsbeam.transforms.normalise.language import DEFAULT_LANGUAGES, DETECTION_MODES, LanguageDetector
from newsbeam.transforms.normalise.text import title_and_text
from newsbeam.transforms.sink.partitions import safe_language

ERRORS = "errors"
# Rows per lingua call: enough to keep both cores busy (lingua scores a batch in parallel), small enough to
# add no latency in streaming, where a bundle's last batch is flushed when the bundle ends.
BATCH_SIZE = 64


class _Detect(beam.DoFn):
    """Batches of rows in, each row with its language out (or its dead letter)."""

    def __init__(self, languages: tuple[str, ...], mode: str):
        self._languages, self._mode = languages, mode
        self._detector = None

    def setup(self):
        self._detector = LanguageDetector(self._languages, **DETECTION_MODES[self._mode])
        self._detector.load()  # the low-accuracy models (shared per process) are built here, not on the first row

    def process(self, rows: list[dict]):
        try:
            texts, hints = [title_and_text(row) for row in rows], [row["language"] for row in rows]
            results = self._detector.detect_many(texts, hints)
        except Exception:  # again one by one, so only the row that fails goes to the dead letters
            results = [self._detect_one(row) for row in rows]
        for row, result in zip(rows, results):
            if isinstance(result, Exception):
                yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(row["source"], result, "normalise", row["id"]))
            else:
                language, confidence = result
                yield {**row, "language": safe_language(language), "language_confidence": confidence}

    def _detect_one(self, row: dict) -> tuple[str, float | None] | Exception:
        try:
            return self._detector.detect(title_and_text(row), hint=row["language"])
        except Exception as error:
            return error


class DetectLanguage(beam.PTransform):
    """Article rows -> rows with `language` and `language_confidence` detected (main) and dead letters (`errors`).

    `languages` are the candidates (ISO 639-1); `mode` is a key of `DETECTION_MODES`, the trade between
    accuracy on short texts and a worker's memory and CPU.
    """

    def __init__(self, languages: tuple[str, ...] = DEFAULT_LANGUAGES, mode: str = "refined"):
        super().__init__()
        if mode not in DETECTION_MODES:
            raise ValueError(f"unknown language detection mode {mode!r}; choose from {sorted(DETECTION_MODES)}")
        self._languages, self._mode = tuple(languages), mode

    def expand(self, rows):
        detect = _Detect(self._languages, self._mode)
        return (
            rows
            | "Batch" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
            | "DetectLanguage" >> beam.ParDo(detect).with_outputs(ERRORS, main="articles")
        )
