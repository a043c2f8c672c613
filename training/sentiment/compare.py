"""Compare sentiment candidates: fitted on `train`, read on `dev`; English also by 5-fold cross-validation.

    python training/sentiment/compare.py /work/shared/data/sentiment [--languages en de] [--cv]

Prints accuracy / macro-F1 per candidate and L2 strength under both sentence decision rules: the band on
P(positive) - P(negative) (band chosen on dev) and the most probable class, plus that class with the neutral logit
shifted by the offset that is best on dev itself (optimistic, marked *). `--cv` pools English out-of-fold
predictions over train + dev for the closest candidates. These are the figures of README.md's dev table; the
chosen settings live in `train.py`. `test` is never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse

import data
from train import BANDS, fit, fit_nb_weighted, macro_f1

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


def features(sentence: str, language: str, candidate: Candidate) -> list[str]:
    """Word n-grams (negation-marked, as shipped) and optionally character n-grams of one sentence."""
    words = tokens(sentence, language)
    out = [" ".join(words[i : i + n]) for n in range(1, candidate.longest + 1) for i in range(len(words) - n + 1)]
    if candidate.chars:
        for word in re.findall(r"\w+", sentence.lower()):
            padded = f"<{word}>"
            out += ["#" + padded[i : i + n] for n in range(3, 6) for i in range(len(padded) - n + 1)]
    return out


def design(items, language: str, candidate: Candidate) -> scipy.sparse.csr_matrix:
    """Hashed n-gram columns (binary or log counts) then the scaled lexicon columns when the candidate uses them."""
    lexical = dense_features(DENSE[language]) if candidate.lexicon else None
    rows, cols, values = [], [], []
    size = 1 << candidate.bits
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
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(items), size + (3 if lexical else 0)))


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


def on_dev(data_dir: str, language: str) -> None:
    train_items, dev_items = data.news(data_dir, language, "train"), data.news(data_dir, language, "dev")
    gold = gold_of(dev_items)
    print(f"{language}: dev {len(dev_items)} sentences, always-neutral {np.mean(gold == 1):.3f}", flush=True)
    for name, candidate, strengths in CANDIDATES:
        for l2 in strengths:
            logits = logits_after_fit(train_items, language, candidate, l2)(dev_items)
            print(f"  {name}, L2 {l2:g}: {readings(logits, gold)}", flush=True)


def cross_validated(data_dir: str, language: str, folds: int = 5) -> None:
    """Pooled out-of-fold readings over train + dev; folds by a hash of the sentence."""
    items = data.news(data_dir, language, "train") + data.news(data_dir, language, "dev")
    fold = np.array([int(hashlib.sha256(i.text.encode()).hexdigest(), 16) % folds for i in items])
    for name, candidate, l2 in CROSS_VALIDATED:
        logits = np.zeros((len(items), 3))
        for k in range(folds):
            fitted = logits_after_fit([i for i, f in zip(items, fold) if f != k], language, candidate, l2)
            logits[fold == k] = fitted([i for i, f in zip(items, fold) if f == k])
        print(f"  {language} {folds}-fold, {name}, L2 {l2:g}: {readings(logits, gold_of(items))}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the sentiment development data folder (shared/data/sentiment)")
    parser.add_argument("--languages", nargs="*", default=["en", "de"], choices=["en", "de"])
    parser.add_argument("--cv", action="store_true", help="also cross-validate the closest English candidates")
    args = parser.parse_args()
    for language in args.languages:
        on_dev(args.data_dir, language)
    if args.cv:
        cross_validated(args.data_dir, "en")


if __name__ == "__main__":
    main()
