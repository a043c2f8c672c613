"""Article sentiment on one scale in every language, from sentence scores.

Scale: a sentence's score is P(positive) - P(negative) as estimated by a model fitted on news sentences, in
[-1, 1]. Its label is the most probable class for the English classifier; for the lexicon methods it is
`positive` at or above the method's neutral band, `negative` at or below minus the band, else `neutral`. The band
was chosen on development data (best macro-F1) and ships in the model file.

Methods (figures in `benchmarks/results/sentiment.md`):
- en: `classifier-en` (hashed word n-grams weighted by naive-Bayes ratios + VADER features), trained on English
  news sentences;
- nl, fr: `lexicon-<lang>`: Pattern's lexicon with negation and intensifiers, its features mapped to the scale by
  the map fitted on German news with the German lexicon (no Dutch or French news data with labels exists);
- de: null. Neither the German lexicon nor a classifier trained on German news beat answering "neutral" on
  held-out German news, so no German figure is given (`method` says why);
- any other language: no validated method, so the score is null and `method` says so.

An article (title and the first `MAX_CHARS` characters of its text) is split into sentences; its score is the
mean sentence score (the tone), and `negative_share` / `positive_share` are the shares of its sentences with
those labels, which tell a mixed article (both high) from a neutral one (both low). The article's label applies
the band to positive_share - negative_share, the article-level counterpart of P(positive) - P(negative): a
long article's mean is diluted by its many factual sentences, its share of polar sentences is not.
Everything is offline.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.enrich.sentiment_model import LABEL_ORDER, LinearModel, band_classes, load_model
from newsbeam.transforms.normalise.language import normalise_language_tag

MAX_CHARS = 10_000

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")
# language -> (shipped model, language of the lexicon whose features it reads (None: the model's own), version
# in `method`, raised whenever that language's scores change)
_METHODS = {
    "en": ("en", None, "2"),
    "nl": ("lexicon", "nl", "1"),
    "fr": ("lexicon", "fr", "1"),
}
# Languages whose candidates were measured and failed, with the reason given in `method`.
_NOT_VALIDATED = {"de": "none: no method above always-neutral on held-out German news"}


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One article's sentiment; `score` and the rest are None when no validated method exists (see `method`)."""

    score: float | None
    label: str | None
    method: str
    negative_share: float | None = None
    positive_share: float | None = None


def label_for(score: float, band: float) -> str:
    """`positive`, `negative` or `neutral` by the ±`band` cut-offs."""
    return LABEL_ORDER[int(band_classes(np.array([score]), band)[0])]


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(text[:MAX_CHARS].strip()) if s]


def _method_name(language: str) -> str:
    _, lexicon_language, version = _METHODS[language]
    kind = "classifier" if lexicon_language is None else "lexicon"
    return f"{kind}-{language}-{version}"


@functools.cache
def _model(language: str) -> LinearModel:
    return load_model(_METHODS[language][0])


class SentimentScorer:
    """Scores article text in the languages with a measured method; models load on first use per language."""

    supported_languages: frozenset[str] = frozenset(_METHODS)

    def sentence_scores(self, sentences: list[str], language: str) -> np.ndarray:
        """Scores of sentences in a supported language (ISO 639-1 code)."""
        return self.sentence_predictions(sentences, language)[0]

    def sentence_predictions(self, sentences: list[str], language: str) -> tuple[np.ndarray, np.ndarray]:
        """Scores and labels (indices in `LABEL_ORDER`) of sentences in a supported language."""
        return _model(language).predict(sentences, dense_language=_METHODS[language][1])

    def score(self, text: str, language: str | None) -> Sentiment | None:
        """Sentiment of the text; None when there is no text, a null score with the reason for other languages."""
        if not text or not text.strip():
            return None
        code = normalise_language_tag(language)
        if code not in self.supported_languages:
            reason = _NOT_VALIDATED.get(code, f"none: no validated method for language {code or 'und'}")
            return Sentiment(None, None, reason)
        sentences = _sentences(text)
        band = _model(code).band
        scores, classes = self.sentence_predictions(sentences, code)
        tone = round(float(np.clip(scores.mean(), -1.0, 1.0)), 4)
        negative = float((classes == LABEL_ORDER.index("negative")).mean())
        positive = float((classes == LABEL_ORDER.index("positive")).mean())
        label = label_for(positive - negative, band)
        return Sentiment(tone, label, _method_name(code), round(negative, 4), round(positive, 4))
