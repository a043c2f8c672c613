"""Train the shipped sentiment models: settings and the neutral band chosen on `dev` after fitting on `train`.

    python training/sentiment/train.py /work/shared/data/sentiment [--out newsbeam/data/sentiment]

Writes `model-en.npz` (n-grams + VADER: plain and naive-Bayes-weighted logistic regression averaged, labelling
a sentence by its most probable class, refitted on train + dev once its settings were fixed) and
`model-lexicon.npz` (the German lexicon's three features alone, fitted on German news: the map from any Pattern
lexicon's features to the common scale, used for Dutch and French). `--models de --out
training/sentiment/output` trains the German candidate (n-grams + German Polarity Lexicon), which is not shipped:
no German candidate reached 0.60 macro-F1 on dev (see README.md here). Training needs scipy; scoring needs numpy
only. Settings were chosen on dev; `test` is never read here.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
import data  # noqa: E402

from newsbeam.transforms.enrich.sentiment_model import (  # noqa: E402
    DENSE_SCALE, LABEL_ORDER, LinearModel, band_classes, dense_features, hashed_ngrams,
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """How one model is trained; chosen on dev (see README.md here)."""

    language: str
    bits: int  # hash bits of the n-gram columns; 0: lexicon features only
    dense: str  # lexicon feature source
    l2: float
    centred: bool = False  # the lexicon map: a Dutch or French sentence without sentiment words scores 0
    # Fits whose weights are averaged: "plain" logistic regression, "nb" the same over n-gram columns scaled by each
    # class's naive-Bayes log-count ratio (Wang & Manning 2012); averaging weights averages the fits' logits.
    blend: tuple[str, ...] = ("plain",)
    argmax: bool = False  # sentence label = most probable class; the band then labels articles only
    refit: bool = False  # final fit on train + dev with the settings and band found on dev


MODELS = {
    "en": Settings("en", 16, "vader", 3e-3, blend=("plain", "nb"), argmax=True, refit=True),
    "de": Settings("de", 16, "pattern-de", 3e-3),
    "lexicon": Settings("de", 0, "pattern-de", 1e-3, centred=True),
}
BANDS = np.round(np.arange(0.0, 0.8, 0.01), 2)


def design(items, language: str, bits: int, dense: str) -> scipy.sparse.csr_matrix:
    """Binary n-gram columns then scaled dense lexicon columns, one row per sentence."""
    features = dense_features(dense)
    rows, cols, values = [], [], []
    offset = 1 << bits if bits else 0
    for row, item in enumerate(items):
        grams = hashed_ngrams(item.text, language, bits).tolist()
        lexical = features(item.text)
        rows += [row] * (len(grams) + len(lexical))
        cols += grams + [offset + i for i in range(len(lexical))]
        values += [1.0] * len(grams) + [DENSE_SCALE * v for v in lexical]
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(items), offset + 3))


def fit(x, y: np.ndarray, l2: float, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, mean (weighted) log-loss plus L2 on the weights, by L-BFGS."""
    n, d = x.shape
    onehot = np.eye(3)[y]
    share = np.ones(n) if sample_weight is None else sample_weight / sample_weight.mean()

    def loss_and_gradient(flat):
        weights, bias = flat[: d * 3].reshape(d, 3), flat[d * 3 :]
        logits = x @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        loss = -(share * np.log(p[np.arange(n), y] + 1e-12)).mean() + 0.5 * l2 * (weights**2).sum()
        residual = (p - onehot) * share[:, None] / n
        gradient = np.concatenate([np.asarray(x.T @ residual + l2 * weights).ravel(), residual.sum(axis=0)])
        return loss, gradient

    result = scipy.optimize.minimize(loss_and_gradient, np.zeros(d * 3 + 3), jac=True, method="L-BFGS-B",
                                     options={"maxiter": 500})  # fmt: skip
    return result.x[: d * 3].reshape(d, 3), result.x[d * 3 :]


def nb_ratios(grams: scipy.sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    """Per column and class: log of its share among that class's sentences over its share among the others (add-one)."""
    ratios = np.empty((grams.shape[1], 3))
    for c in range(3):
        inside = 1.0 + np.asarray(grams[y == c].sum(axis=0)).ravel()
        outside = 1.0 + np.asarray(grams[y != c].sum(axis=0)).ravel()
        ratios[:, c] = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
    return ratios


def fit_nb_weighted(x, y: np.ndarray, n_grams: int, l2: float, sample_weight: np.ndarray | None = None):
    """Logistic regression over [n-grams x ratio(negative) | x ratio(neutral) | x ratio(positive) | lexicon].

    Each block's weights times its ratios fold back into one weight per n-gram column, so the model ships and
    scores like any other `LinearModel`.
    """
    grams, lexical = x[:, :n_grams], x[:, n_grams:]
    ratios = nb_ratios(grams, y)
    blocks = [grams.multiply(ratios[:, c][None, :]).tocsr() for c in range(3)]
    weights, bias = fit(scipy.sparse.hstack([*blocks, lexical]).tocsr(), y, l2, sample_weight)
    folded = sum(ratios[:, [c]] * weights[c * n_grams : (c + 1) * n_grams] for c in range(3))
    return np.vstack([folded, weights[3 * n_grams :]]), bias


def fitted(items, name: str, band: float) -> LinearModel:
    """Model `name` fitted on the items, with weights rounded as shipped."""
    s = MODELS[name]
    gold = np.array([LABEL_ORDER.index(i.gold) for i in items])
    x = design(items, s.language, s.bits, s.dense)
    fits = [fit_nb_weighted(x, gold, 1 << s.bits, s.l2) if kind == "nb" else fit(x, gold, s.l2) for kind in s.blend]
    weights, bias = (np.mean([f[i] for f in fits], axis=0) for i in (0, 1))
    weights = weights.astype(np.float16).astype(np.float32)  # as shipped
    return LinearModel(name, s.language, s.bits, s.dense, band, weights, bias, s.centred, s.argmax)


def macro_f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    f1 = []
    for c in range(3):
        tp = ((predicted == c) & (gold == c)).sum()
        precision, recall = tp / max((predicted == c).sum(), 1), tp / max((gold == c).sum(), 1)
        f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(f1))


def train(data_dir: str, name: str) -> tuple[LinearModel, float, float]:
    """One model fitted on train, its band the one with the best macro-F1 on dev (refitted on train + dev when its
    settings say so); returns it and its dev accuracy and macro-F1 by its decision rule, before any refit."""
    settings = MODELS[name]
    train_items, dev_items = (data.news(data_dir, settings.language, split) for split in ("train", "dev"))
    model = fitted(train_items, name, 0.0)
    scores, classes = model.predict([i.text for i in dev_items])
    dev_gold = np.array([LABEL_ORDER.index(i.gold) for i in dev_items])
    f1, band = max((macro_f1(band_classes(scores, b), dev_gold), float(b)) for b in BANDS)
    if settings.argmax:
        f1 = macro_f1(classes, dev_gold)
    else:
        classes = band_classes(scores, band)
    accuracy = float((classes == dev_gold).mean())
    final = fitted(train_items + dev_items if settings.refit else train_items, name, band)
    return final, accuracy, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the sentiment development data folder (shared/data/sentiment)")
    parser.add_argument("--out", default=str(HERE.parents[1] / "newsbeam" / "data" / "sentiment"))
    parser.add_argument("--models", nargs="*", default=["en", "lexicon"], choices=list(MODELS))
    args = parser.parse_args()
    pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.models:
        model, accuracy, f1 = train(args.data_dir, name)
        model.save(pathlib.Path(args.out) / f"model-{name}.npz")
        print(f"{name}: band {model.band:.2f}, dev accuracy {accuracy:.3f}, macro-F1 {f1:.3f}", flush=True)


if __name__ == "__main__":
    main()
