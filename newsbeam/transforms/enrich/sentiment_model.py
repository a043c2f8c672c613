"""A sentence classifier small enough to ship: hashed word n-grams plus lexicon features, multinomial logistic.

One `LinearModel` per language lives in `newsbeam/data/sentiment/model-<name>.npz` (weights, bias, neutral
band, feature settings, decision rule), written by `training/sentiment/train.py`, which uses these same feature
functions so training and scoring cannot drift apart. A sentence's score is P(positive) - P(negative) in [-1, 1];
its label is either the most probable class (`argmax` models) or the score against the neutral band.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.enrich.sentiment_lexicon import RULES, lexicon_features, pattern_lexicon

_TOKEN = re.compile(r"\w+|[^\w\s]")
_KEPT_PUNCTUATION = frozenset("!?")
_CLAUSE_BREAK = frozenset(",;:.!?")
# Words after a negation, up to this many and within the clause, become separate features ("not_good").
NEGATION_SCOPE = 3
NEGATIONS = {
    "en": frozenset("not no never nothing none nobody neither nor without cannot".split()),
    **{language: rules.negations for language, rules in RULES.items()},
}
# Dense lexicon features are scaled up so that the L2 penalty weighs them less than any single n-gram.
DENSE_SCALE = 3.0
LABEL_ORDER = ("negative", "neutral", "positive")


def tokens(sentence: str, language: str) -> list[str]:
    """Lower-case words plus `!`/`?`, with words in a negation's scope marked `not_`."""
    negations = NEGATIONS.get(language, frozenset())
    out: list[str] = []
    negated_until = -1
    for index, token in enumerate(_TOKEN.findall(sentence.lower())):
        if token in _CLAUSE_BREAK:
            negated_until = -1
        if token in negations or token.endswith("n't"):
            negated_until = index + NEGATION_SCOPE
            out.append(token)
        elif token[0].isalnum() or token[0] == "_" or token in _KEPT_PUNCTUATION:
            out.append(f"not_{token}" if index <= negated_until else token)
    return out


def hashed_ngrams(sentence: str, language: str, bits: int) -> np.ndarray:
    """Distinct hash buckets of a sentence's unigrams and bigrams (crc32, stable across processes)."""
    if bits == 0:
        return np.empty(0, dtype=np.int64)
    words = tokens(sentence, language)
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    return np.unique(np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.int64, count=len(grams)) % (1 << bits))


@functools.cache
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_features(sentence: str) -> list[float]:
    """VADER's compound score and its positive and negative shares."""
    scores = _vader().polarity_scores(sentence)
    return [scores["compound"], scores["pos"], scores["neg"]]


def pattern_features(language: str) -> Callable[[str], list[float]]:
    """A Pattern lexicon's mean polarity and its positive/negative word counts (capped at 5, scaled to [0, 1])."""
    lexicon = pattern_lexicon(language)

    def features(sentence: str) -> list[float]:
        mean, positive, negative = lexicon_features(sentence, lexicon)
        return [mean, min(positive, 5) / 5, min(negative, 5) / 5]

    return features


def dense_features(source: str) -> Callable[[str], list[float]]:
    """The lexicon feature function named in a model file: `vader` or `pattern-<language>`."""
    if source == "vader":
        return vader_features
    return pattern_features(source.removeprefix("pattern-"))


@dataclass(frozen=True)
class LinearModel:
    """Weights over [hashed n-grams | dense lexicon features] for the classes in `LABEL_ORDER`."""

    name: str
    language: str  # the language whose tokenisation and negations the n-grams use
    bits: int  # 0: no n-grams, lexicon features only
    dense: str
    band: float  # |score| below this is neutral; chosen on development data
    weights: np.ndarray  # (2**bits + n_dense, 3)
    bias: np.ndarray  # (3,)
    # Subtract the score of a sentence without any feature, so it scores 0 whatever the training data's priors.
    centred: bool = False
    # Label a sentence by its most probable class rather than by its score against the band (which then labels
    # articles only): the English classifier's neutral probability tells factual sentences apart better than
    # a cut-off on P(positive) - P(negative) (macro-F1 0.635 against 0.613 on dev).
    argmax: bool = False

    def predict(self, sentences: Sequence[str], dense_language: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """P(positive) - P(negative) and the class index in `LABEL_ORDER` per sentence, by the model's decision
        rule; `dense_language` swaps in another language's lexicon."""
        dense = dense_features(f"pattern-{dense_language}" if dense_language else self.dense)
        offset = 1 << self.bits if self.bits else 0
        logits = np.empty((len(sentences), 3))
        for row, sentence in enumerate(sentences):
            values = np.asarray(dense(sentence)) * DENSE_SCALE
            logits[row] = self.bias + values @ self.weights[offset:]
            if self.bits:
                logits[row] += self.weights[hashed_ngrams(sentence, self.language, self.bits)].sum(axis=0)
        scores = _positive_minus_negative(logits)
        if self.centred:
            scores = np.clip(scores - _positive_minus_negative(self.bias[None, :]), -1.0, 1.0)
        if self.argmax:
            return scores, logits.argmax(axis=1)
        return scores, band_classes(scores, self.band)

    def save(self, path) -> None:
        meta = {"name": self.name, "language": self.language, "bits": self.bits, "dense": self.dense,
                "band": self.band, "centred": self.centred, "argmax": self.argmax}  # fmt: skip
        np.savez_compressed(path, weights=self.weights.astype(np.float16), bias=self.bias, meta=json.dumps(meta))


def band_classes(scores: np.ndarray, band: float) -> np.ndarray:
    """Class indices in `LABEL_ORDER` by the symmetric band: positive at or above it, negative at or below minus it."""
    return np.where(scores >= band, 2, np.where(scores <= -band, 0, 1))


def _positive_minus_negative(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities[:, 2] - probabilities[:, 0]


def read_model(handle) -> LinearModel:
    """A model from an open `.npz` file (or a path) written by `LinearModel.save`."""
    with np.load(handle) as stored:
        meta = json.loads(str(stored["meta"]))
        return LinearModel(**meta, weights=stored["weights"].astype(np.float32), bias=stored["bias"])


@functools.cache
def load_model(name: str) -> LinearModel:
    """A model shipped as package data, loaded once per process."""
    path = importlib.resources.files("newsbeam").joinpath(f"data/sentiment/model-{name}.npz")
    with path.open("rb") as handle:
        return read_model(handle)
