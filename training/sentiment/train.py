"""Train the shipped sentiment models on the `train` portion; choose the neutral band on `dev`.

    python training/sentiment/train.py /work/shared/data/sentiment [--out newsbeam/data/sentiment]

Writes `model-en.npz` (n-grams + VADER) and `model-lexicon.npz` (the German lexicon's three features alone,
fitted on German news: the map from any Pattern lexicon's features to the common scale, used for Dutch and
French). `--models de --out training/sentiment/output` trains the German candidate (n-grams + German Polarity
Lexicon), which is not shipped: it did not beat always-neutral (see README.md here). Training needs scipy;
scoring needs numpy only. Settings were chosen on dev; `test` is never read here.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import scipy.optimize
import scipy.sparse

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
import data  # noqa: E402

from newsbeam.transforms.enrich.sentiment_model import (  # noqa: E402
    DENSE_SCALE, LABEL_ORDER, LinearModel, dense_features, hashed_ngrams,
)  # fmt: skip

# name -> (language, hash bits, dense source, L2 strength, centred); chosen on dev. The lexicon map is centred so
# that a Dutch or French sentence without sentiment words scores 0 rather than German news' prior.
MODELS = {
    "en": ("en", 16, "vader", 1e-3, False),
    "de": ("de", 16, "pattern-de", 3e-3, False),
    "lexicon": ("de", 0, "pattern-de", 1e-3, True),
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


def fit(x, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, mean log-loss plus L2 on the weights, by L-BFGS."""
    n, d = x.shape
    onehot = np.eye(3)[y]

    def loss_and_gradient(flat):
        weights, bias = flat[: d * 3].reshape(d, 3), flat[d * 3 :]
        logits = x @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y] + 1e-12).mean() + 0.5 * l2 * (weights**2).sum()
        residual = (p - onehot) / n
        gradient = np.concatenate([np.asarray(x.T @ residual + l2 * weights).ravel(), residual.sum(axis=0)])
        return loss, gradient

    result = scipy.optimize.minimize(loss_and_gradient, np.zeros(d * 3 + 3), jac=True, method="L-BFGS-B",
                                     options={"maxiter": 500})  # fmt: skip
    return result.x[: d * 3].reshape(d, 3), result.x[d * 3 :]


def labels_for(scores: np.ndarray, band: float) -> np.ndarray:
    """Class indices in LABEL_ORDER by the symmetric neutral band."""
    return np.where(scores >= band, 2, np.where(scores <= -band, 0, 1))


def macro_f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    f1 = []
    for c in range(3):
        tp = ((predicted == c) & (gold == c)).sum()
        precision, recall = tp / max((predicted == c).sum(), 1), tp / max((gold == c).sum(), 1)
        f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(f1))


def train(data_dir: str, name: str) -> tuple[LinearModel, float]:
    """One model fitted on train, its band the one with the best macro-F1 on dev; returns it and that F1."""
    language, bits, dense, l2, centred = MODELS[name]
    train_items, dev_items = data.news(data_dir, language, "train"), data.news(data_dir, language, "dev")
    gold = np.array([LABEL_ORDER.index(i.gold) for i in train_items])
    weights, bias = fit(design(train_items, language, bits, dense), gold, l2)
    weights = weights.astype(np.float16).astype(np.float32)  # as shipped
    model = LinearModel(name, language, bits, dense, 0.0, weights, bias, centred)
    scores = model.scores([i.text for i in dev_items])
    dev_gold = np.array([LABEL_ORDER.index(i.gold) for i in dev_items])
    f1, band = max((macro_f1(labels_for(scores, b), dev_gold), float(b)) for b in BANDS)
    return LinearModel(name, language, bits, dense, band, weights, bias, centred), f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the sentiment development data folder (shared/data/sentiment)")
    parser.add_argument("--out", default=str(HERE.parents[1] / "newsbeam" / "data" / "sentiment"))
    parser.add_argument("--models", nargs="*", default=["en", "lexicon"], choices=list(MODELS))
    args = parser.parse_args()
    for name in args.models:
        model, f1 = train(args.data_dir, name)
        model.save(pathlib.Path(args.out) / f"model-{name}.npz")
        print(f"{name}: band {model.band:.2f}, dev macro-F1 {f1:.3f}", flush=True)


if __name__ == "__main__":
    main()
