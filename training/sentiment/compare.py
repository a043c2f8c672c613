"""Compare sentiment candidates: fitted on `train`, read on `dev`; also by 5-fold cross-validation over train + dev.

    python training/sentiment/compare.py /work/shared/data/sentiment [--languages en de] [--cv]

Prints accuracy / macro-F1 per candidate and L2 strength under both sentence decision rules: the band on
P(positive) - P(negative) (band chosen on dev) and the most probable class, plus that class with the neutral logit
shifted by the offset that is best on dev itself (optimistic, marked *). `--cv` pools out-of-fold predictions over
train + dev: for English the closest candidates; for German the candidates with stems, compound heads and
class-balanced weights, whose offsets and bands are chosen inside the cross-validation (per fold, on the other
folds' predictions), since German dev (262 sentences) is too small to choose them on. The German stem rows need
`snowballstemmer` (BSD-3-Clause, pure Python). These are the figures of README.md's tables; the chosen settings
live in `train.py`. `test` is never read here.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.resources
import re
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse

import data
from train import BANDS, fit, fit_nb_weighted, macro_f1

from newsbeam.transforms.enrich.sentiment_lexicon import _CLAUSE_BREAK, _TOKEN, RULES, pattern_lexicon
from newsbeam.transforms.enrich.sentiment_model import (
    DENSE_SCALE, LABEL_ORDER, band_classes, dense_features, tokens,
)  # fmt: skip

OFFSETS = np.round(np.arange(-2.0, 2.01, 0.1), 1)
DENSE = {"en": "vader", "de": "pattern-de"}


@dataclass(frozen=True)
class Candidate:
    """Features and fit of one candidate; `kind` is `lr`, `nb` (NB-weighted LR), `lr+nb` (both averaged) or `cnb`."""

    kind: str = "lr"
    longest: int = 2  # word n-grams up to this length
    chars: bool = False  # character 3-5-grams within word boundaries
    counts: bool = False  # log(1 + count) instead of binary
    lexicon: bool = True
    balanced: bool = False  # class weights inverse to class frequency
    bits: int = 16
    stems: bool = False  # German: n-grams over Snowball stems instead of word forms
    # German: `head_lexicon_features` instead of the Pattern features; "stems" also looks words up by their stem
    heads: str = ""  # "", "compounds" or "compounds+stems"
    min_sentences: int = 1  # n-gram columns seen in fewer training sentences are dropped


@functools.cache
def german_stem(word: str) -> str:
    """The Snowball German stem of a lower-case word ("verluste" -> "verlust"; umlauts become plain vowels)."""
    return _snowball_german().stemWord(word)


@functools.cache
def _snowball_german():
    import snowballstemmer

    return snowballstemmer.stemmer("german")


@functools.cache
def german_heads() -> tuple[dict[str, float], dict[str, float]]:
    """Lexicon polarity by stem (stems of 6+ letters: shorter ones collide, "sicher" -> "sich") and by noun stem
    of 5+ letters (the heads a compound can end in: "Rekordverlust" -> "verlust")."""
    polarity = pattern_lexicon("de").polarity
    path = importlib.resources.files("newsbeam").joinpath("data/sentiment/de-sentiment.xml")
    with path.open("rb") as handle:
        nouns = {w.get("form", "").lower() for w in ET.parse(handle).getroot().iter("word") if w.get("pos") == "NN"}
    by_stem: dict[str, list[float]] = {}
    heads: dict[str, list[float]] = {}
    for word, value in polarity.items():
        by_stem.setdefault(german_stem(word), []).append(value)
        if word in nouns and len(german_stem(word)) >= 5:
            heads.setdefault(german_stem(word), []).append(value)
    stems = {stem: sum(v) / len(v) for stem, v in by_stem.items() if len(stem) >= 6}
    return stems, {stem: sum(v) / len(v) for stem, v in heads.items()}


@functools.cache
def german_polarity(word: str, by_stem: bool) -> float | None:
    """A word's polarity: the lexicon's (with its inflection rules), else its stem's, else its compound head's
    (the longest lexicon noun stem ending the word's stem, after a modifier of 4+ letters)."""
    polarity = pattern_lexicon("de").lookup(word)
    if polarity is not None:
        return polarity
    stems, heads = german_heads()
    stem = german_stem(word)
    if by_stem and stem in stems:
        return stems[stem]
    return next((heads[stem[i:]] for i in range(4, len(stem) - 4) if stem[i:] in heads), None)


def head_lexicon_features(sentence: str, by_stem: bool) -> list[float]:
    """Seven German lexicon features with compound heads: mean polarity, counts and sums of positive and negative
    words (capped, scaled to [0, 1]), whether any word matched, and how many were negated.

    A negation (nicht, kein*, nie, ohne, ...) halves and flips the next sentiment word within three tokens of
    the same clause, and an intensifier (sehr, äußerst, ...) scales it, as in `lexicon_features`.
    """
    lexicon, negations = pattern_lexicon("de"), RULES["de"].negations
    scores, negated_until, multiplier, negated = [], -1, 1.0, 0
    for index, token in enumerate(_TOKEN.findall(sentence.lower())):
        if token in _CLAUSE_BREAK:
            negated_until, multiplier = -1, 1.0
            continue
        if token in negations or token.startswith("kein"):
            negated_until = index + 3
            continue
        polarity = german_polarity(token, by_stem)
        if polarity is None:
            multiplier = lexicon.intensity.get(token, multiplier)
            continue
        polarity, multiplier = max(-1.0, min(1.0, polarity * multiplier)), 1.0
        if index <= negated_until:
            polarity, negated_until, negated = -0.5 * polarity, -1, negated + 1
        scores.append(polarity)
    positive, negative = [x for x in scores if x > 0], [-x for x in scores if x < 0]
    return [sum(scores) / len(scores) if scores else 0.0, min(len(positive), 5) / 5, min(len(negative), 5) / 5,
            min(sum(positive), 3) / 3, min(sum(negative), 3) / 3, float(bool(scores)), min(negated, 3) / 3]  # fmt: skip


def features(sentence: str, language: str, candidate: Candidate) -> list[str]:
    """Word n-grams (negation-marked, as shipped; stemmed if asked) and optionally character n-grams."""
    words = tokens(sentence, language)
    if candidate.stems:
        words = [("not_" + german_stem(w[4:])) if w.startswith("not_") else german_stem(w) for w in words]
    out = [" ".join(words[i : i + n]) for n in range(1, candidate.longest + 1) for i in range(len(words) - n + 1)]
    if candidate.chars:
        for word in re.findall(r"\w+", sentence.lower()):
            padded = f"<{word}>"
            out += ["#" + padded[i : i + n] for n in range(3, 6) for i in range(len(padded) - n + 1)]
    return out


def lexicon_columns(language: str, candidate: Candidate):
    """The candidate's lexicon feature function, or None."""
    if candidate.heads:
        return functools.partial(head_lexicon_features, by_stem="stems" in candidate.heads)
    return dense_features(DENSE[language]) if candidate.lexicon else None


def design(items, language: str, candidate: Candidate) -> scipy.sparse.csr_matrix:
    """Hashed n-gram columns (binary or log counts) then the scaled lexicon columns when the candidate uses them."""
    lexical = lexicon_columns(language, candidate)
    rows, cols, values = [], [], []
    size = 1 << candidate.bits
    width = len(lexical(items[0].text)) if lexical else 0
    for row, item in enumerate(items):
        grams = [zlib.crc32(g.encode()) % size for g in features(item.text, language, candidate)]
        buckets, counts = np.unique(np.array(grams, dtype=np.int64), return_counts=True)
        weights = np.log1p(counts) if candidate.counts else np.ones(len(buckets))
        rows += [row] * len(buckets)
        cols += buckets.tolist()
        values += weights.tolist()
        if lexical:
            extra = lexical(item.text)
            rows += [row] * len(extra)
            cols += [size + i for i in range(len(extra))]
            values += [DENSE_SCALE * v for v in extra]
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(items), size + width))


def complement_nb(x, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complement naive Bayes (Rennie et al. 2003) over binary n-grams, as weights and bias of class logits."""
    binary = (x > 0).astype(np.float64)
    weights = np.empty((x.shape[1], 3))
    for c in range(3):
        complement = 1.0 + np.asarray(binary[y != c].sum(axis=0)).ravel()
        weights[:, c] = -np.log(complement / complement.sum())
    return weights - weights.mean(axis=1, keepdims=True), np.log(np.bincount(y, minlength=3) / len(y))


def logits_after_fit(train_items, language: str, candidate: Candidate, l2: float):
    """A function from items to class logits, fitted on `train_items`."""
    gold = gold_of(train_items)
    x = design(train_items, language, candidate)
    if candidate.min_sentences > 1:  # a column without training data keeps weight 0 under L2
        seen = np.asarray((x[:, : 1 << candidate.bits] > 0).sum(axis=0)).ravel() >= candidate.min_sentences
        x = x.multiply(np.concatenate([seen, np.ones(x.shape[1] - len(seen), dtype=bool)])[None, :]).tocsr()
    weight = (len(gold) / (3 * np.bincount(gold, minlength=3)))[gold] if candidate.balanced else None
    n_grams = 1 << candidate.bits
    fits = []
    if candidate.kind == "cnb":
        fits.append(complement_nb(x[:, :n_grams], gold))
    if candidate.kind in ("lr", "lr+nb"):
        fits.append(fit(x, gold, l2, weight))
    if candidate.kind in ("nb", "lr+nb"):
        fits.append(fit_nb_weighted(x, gold, n_grams, l2, weight))
    weights, bias = (np.mean([f[i] for f in fits], axis=0) for i in (0, 1))
    return lambda items: np.asarray(design(items, language, candidate)[:, : weights.shape[0]] @ weights) + bias


def gold_of(items) -> np.ndarray:
    return np.array([LABEL_ORDER.index(i.gold) for i in items])


def positive_minus_negative(logits: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p[:, 2] - p[:, 0]


def readings(logits: np.ndarray, gold: np.ndarray) -> str:
    """Accuracy / macro-F1 by the best band, by the most probable class, and by the best neutral offset (*)."""
    scores = positive_minus_negative(logits)
    band = max(BANDS, key=lambda b: macro_f1(band_classes(scores, b), gold))
    offset = max(OFFSETS, key=lambda o: macro_f1((logits + [0.0, o, 0.0]).argmax(axis=1), gold))

    def pair(classes: np.ndarray) -> str:
        return f"{(classes == gold).mean():.3f} / {macro_f1(classes, gold):.3f}"

    return (f"band {band:.2f}: {pair(band_classes(scores, band))} | most probable: {pair(logits.argmax(axis=1))}"
            f" | offset {offset:+.1f}*: {pair((logits + [0.0, offset, 0.0]).argmax(axis=1))}")  # fmt: skip


CANDIDATES = [
    ("LR 1/2-grams + lex", Candidate(), (1e-4, 3e-4, 1e-3, 3e-3)),
    ("LR, class-balanced", Candidate(balanced=True), (3e-4, 1e-3, 3e-3)),
    ("LR, log counts", Candidate(counts=True), (1e-3, 3e-3)),
    ("LR 1-3-grams + lex", Candidate(longest=3), (1e-3, 3e-3)),
    ("LR + character 3-5-grams", Candidate(chars=True, bits=18), (1e-3, 3e-3)),
    ("NB-LR, no lex", Candidate("nb", lexicon=False), (1e-3, 3e-3)),
    ("NB-LR + lex", Candidate("nb"), (1e-3, 3e-3, 1e-2)),
    ("NB-LR, class-balanced", Candidate("nb", balanced=True), (1e-3, 3e-3)),
    ("NB-LR 1-3-grams + lex", Candidate("nb", longest=3), (1e-3, 3e-3)),
    ("NB-LR + character 3-5-grams", Candidate("nb", chars=True, bits=18), (1e-3, 3e-3)),
    ("complement NB", Candidate("cnb", lexicon=False), (0.0,)),
    ("LR and NB-LR averaged", Candidate("lr+nb"), (3e-3,)),
]
CROSS_VALIDATED = [("LR", Candidate(), 3e-3), ("NB-LR", Candidate("nb"), 3e-3), ("averaged", Candidate("lr+nb"), 3e-3)]
# German only, read on dev and by cross-validation; "heads" = `head_lexicon_features` instead of the Pattern features.
GERMAN_CANDIDATES = [
    ("LR 1/2-grams + lex", Candidate(), (1e-3, 3e-3, 1e-2)),
    ("LR, class-balanced", Candidate(balanced=True), (1e-3, 3e-3, 1e-2)),
    ("LR over stems, class-balanced", Candidate(balanced=True, stems=True), (3e-3, 1e-2)),
    ("LR + heads (compounds), class-balanced", Candidate(balanced=True, heads="compounds"), (3e-3, 1e-2, 3e-2, 1e-1)),
    ("LR + heads (compounds, stems), class-balanced", Candidate(balanced=True, heads="compounds+stems"),
     (3e-3, 1e-2, 3e-2)),
    ("LR over stems + heads (compounds, stems), class-balanced",
     Candidate(balanced=True, stems=True, heads="compounds+stems"), (1e-2, 3e-2, 1e-1)),
    ("LR, n-grams in 2+ sentences, + heads (compounds), class-balanced",
     Candidate(balanced=True, heads="compounds", min_sentences=2), (1e-2, 3e-2)),
    ("heads (compounds) alone, class-balanced", Candidate(longest=0, balanced=True, heads="compounds"), (1e-2,)),
    ("Pattern lexicon features alone, class-balanced", Candidate(longest=0, balanced=True), (1e-2,)),
]  # fmt: skip
POSITIVE_OFFSETS = np.round(np.arange(-1.0, 1.01, 0.2), 1)


def shifted(logits: np.ndarray, neutral: float, positive: float = 0.0) -> np.ndarray:
    """Most probable class after adding offsets to the neutral and positive logits."""
    return (logits + [0.0, neutral, positive]).argmax(axis=1)


# Decision rules whose setting is chosen inside the cross-validation: (settings tried, classes from logits).
CHOSEN_RULES = {
    "neutral offset": (list(OFFSETS), shifted),
    "band": (list(BANDS), lambda logits, band: band_classes(positive_minus_negative(logits), band)),
    "neutral + positive offsets": ([(n, p) for n in OFFSETS for p in POSITIVE_OFFSETS],
                                   lambda logits, pair: shifted(logits, *pair)),
}  # fmt: skip


def chosen_per_fold(logits: np.ndarray, gold: np.ndarray, fold: np.ndarray, rule: str) -> np.ndarray:
    """Classes of each fold by the rule's setting that is best (macro-F1) on the other folds' predictions."""
    settings, decide = CHOSEN_RULES[rule]
    classes = np.empty(len(gold), dtype=int)
    for k in np.unique(fold):
        other = fold != k
        best = max(settings, key=lambda s: macro_f1(decide(logits[other], s), gold[other]))
        classes[~other] = decide(logits[~other], best)
    return classes


def readings_chosen_by_cv(logits: np.ndarray, gold: np.ndarray, fold: np.ndarray) -> str:
    """Accuracy / macro-F1 by the most probable class and by each rule of `CHOSEN_RULES`, set per fold."""
    def pair(classes: np.ndarray) -> str:
        return f"{(classes == gold).mean():.3f} / {macro_f1(classes, gold):.3f}"

    chosen = (f"{rule}: {pair(chosen_per_fold(logits, gold, fold, rule))}" for rule in CHOSEN_RULES)
    return " | ".join([f"most probable: {pair(logits.argmax(axis=1))}", *chosen])


def on_dev(data_dir: str, language: str) -> None:
    train_items, dev_items = data.news(data_dir, language, "train"), data.news(data_dir, language, "dev")
    gold = gold_of(dev_items)
    print(f"{language}: dev {len(dev_items)} sentences, always-neutral {np.mean(gold == 1):.3f}", flush=True)
    for name, candidate, strengths in CANDIDATES + (GERMAN_CANDIDATES if language == "de" else []):
        for l2 in strengths:
            logits = logits_after_fit(train_items, language, candidate, l2)(dev_items)
            print(f"  {name}, L2 {l2:g}: {readings(logits, gold)}", flush=True)


def cross_validated(data_dir: str, language: str, folds: int = 5) -> None:
    """Pooled out-of-fold readings over train + dev; folds by a hash of the sentence. English: the closest
    candidates, bands and offsets chosen on the pooled predictions; German: `GERMAN_CANDIDATES`, with the rules'
    settings chosen per fold on the other folds."""
    items = data.news(data_dir, language, "train") + data.news(data_dir, language, "dev")
    fold = np.array([int(hashlib.sha256(i.text.encode()).hexdigest(), 16) % folds for i in items])
    gold = gold_of(items)
    german = [(name, candidate, l2) for name, candidate, strengths in GERMAN_CANDIDATES for l2 in strengths]
    rows = CROSS_VALIDATED if language == "en" else german
    print(f"{language}: {folds}-fold over train + dev, {len(items)} sentences, always-neutral {np.mean(gold == 1):.3f}")
    for name, candidate, l2 in rows:
        logits = np.zeros((len(items), 3))
        for k in range(folds):
            fitted = logits_after_fit([i for i, f in zip(items, fold) if f != k], language, candidate, l2)
            logits[fold == k] = fitted([i for i, f in zip(items, fold) if f == k])
        reading = readings(logits, gold) if language == "en" else readings_chosen_by_cv(logits, gold, fold)
        print(f"  {language} {folds}-fold, {name}, L2 {l2:g}: {reading}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the sentiment development data folder (shared/data/sentiment)")
    parser.add_argument("--languages", nargs="*", default=["en", "de"], choices=["en", "de"])
    parser.add_argument("--cv", action="store_true", help="also cross-validate: the closest English candidates, "
                        "the German candidates with stems and compound heads")  # fmt: skip
    args = parser.parse_args()
    for language in args.languages:
        on_dev(args.data_dir, language)
    if args.cv:
        for language in args.languages:
            cross_validated(args.data_dir, language)


if __name__ == "__main__":
    main()
