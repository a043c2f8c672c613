"""Sentiment figures per language on the held-out `test` portion of the development data, and the reference article.

    python benchmarks/sentiment_eval.py /work/shared/data/sentiment \
        --reference /work/shared/samples/000_49427d75354bfe23.txt

- en, de (news sentences, three classes): accuracy, macro-F1, confusion matrix and the majority baseline, for
  the shipped method (or, for a language that ships none, the candidate in `--candidates`, a folder of
  `model-<lang>.npz` written by `training/sentiment/train.py`) and for the method it replaced (VADER / the
  German adjective lexicon, ±0.05 band).
- nl, fr (XED subtitle lines, emotions mapped to two polarities, no neutral class): the share of lines given a
  polarity (coverage), agreement on those, and macro-F1 over both polarities with a neutral call counted as a
  miss; de and en on XED too, so the XED figures can be read against the news figures.
Writes `benchmarks/results/sentiment.md` and `sentiment.json`. The split is `training/sentiment/data.py`'s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "training" / "sentiment"))
sys.path.insert(0, str(HERE.parent))
import data  # noqa: E402

from newsbeam.transforms.enrich.sentiment import SentimentScorer, _model  # noqa: E402
from newsbeam.transforms.enrich.sentiment_lexicon import lexicon_features, pattern_lexicon  # noqa: E402
from newsbeam.transforms.enrich.sentiment_model import LABEL_ORDER, read_model  # noqa: E402

LABELS = data.LABELS
OLD_BAND = 0.05


def three_class(predicted: list[str], gold: list[str]) -> dict:
    """Accuracy, macro-F1, confusion matrix (rows gold, columns predicted) and the majority baseline."""
    matrix = [[sum(g == a and p == b for p, g in zip(predicted, gold)) for b in LABELS] for a in LABELS]
    f1 = []
    for i in range(3):
        tp, predicted_i, gold_i = matrix[i][i], sum(row[i] for row in matrix), sum(matrix[i])
        precision, recall = tp / max(predicted_i, 1), tp / max(gold_i, 1)
        f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    majority = max(LABELS, key=gold.count)
    return {"n": len(gold), "accuracy": round(sum(p == g for p, g in zip(predicted, gold)) / len(gold), 3),
            "macro_f1": round(float(np.mean(f1)), 3), "f1": dict(zip(LABELS, (round(x, 3) for x in f1))),
            "confusion": {a: dict(zip(LABELS, row)) for a, row in zip(LABELS, matrix)},
            "majority": majority, "majority_accuracy": round(gold.count(majority) / len(gold), 3)}  # fmt: skip


def two_polarities(predicted: list[str], gold: list[str]) -> dict:
    """Coverage, agreement where a polarity was given, macro-F1 over negative/positive (neutral = miss)."""
    covered = [(p, g) for p, g in zip(predicted, gold) if p != "neutral"]
    f1 = []
    for label in ("negative", "positive"):
        tp = sum(p == g == label for p, g in zip(predicted, gold))
        precision, recall = tp / max(predicted.count(label), 1), tp / max(gold.count(label), 1)
        f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    majority = max(("negative", "positive"), key=gold.count)
    return {"n": len(gold), "coverage": round(len(covered) / len(gold), 3),
            "agreement_when_given": round(sum(p == g for p, g in covered) / max(len(covered), 1), 3),
            "macro_f1": round(float(np.mean(f1)), 3), "majority": majority,
            "majority_share": round(gold.count(majority) / len(gold), 3)}  # fmt: skip


def labels(scores, band: float) -> list[str]:
    return ["positive" if s >= band else "negative" if s <= -band else "neutral" for s in scores]


def old_method(texts: list[str], language: str) -> list[float]:
    """The scores of the method replaced: VADER's compound (en), the adjective lexicon's mean polarity (de)."""
    if language == "en":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        return [analyzer.polarity_scores(t)["compound"] for t in texts]
    lexicon = pattern_lexicon(language, news_words=False)
    return [lexicon_features(t, lexicon)[0] for t in texts]


def method_for(language: str, scorer: SentimentScorer, candidates: pathlib.Path | None):
    """(name, model, sentence labelling function) of the shipped method, else of the candidate model, else None."""
    if language in scorer.supported_languages:
        return scorer.score("x", language).method, _model(language), lambda t: label_names(
            scorer.sentence_predictions(t, language)[1])
    path = candidates / f"model-{language}.npz" if candidates else None
    if path and path.is_file():
        model = read_model(path)
        return f"candidate {path.name}, not shipped", model, lambda t: label_names(model.predict(t)[1])
    return None


def label_names(classes) -> list[str]:
    return [LABEL_ORDER[c] for c in classes]


def _scored(language: str, items, scorer, candidates):
    """(method, texts, gold) for one language's test items, or None when the language has no method to score."""
    method = method_for(language, scorer, candidates)
    if method is None:
        return None
    return method, [i.text for i in items], [i.gold for i in items]


def evaluate(data_dir: str, reference: str | None, candidates: pathlib.Path | None) -> dict:
    scorer = SentimentScorer()
    results: dict = {"split": {"seed": data.SEED, "news": data.NEWS_SPLIT}, "news": {}, "xed": {}}
    for language in ("en", "de"):
        scored = _scored(language, data.news(data_dir, language, "test"), scorer, candidates)
        if scored is not None:
            (name, model, labelled), texts, gold = scored
            results["news"][language] = {
                "method": name, "band": model.band, "sentence_label": "most probable class" if model.argmax else "band",
                "shipped": three_class(labelled(texts), gold),
                "replaced": three_class(labels(old_method(texts, language), OLD_BAND), gold),
            }  # fmt: skip
    for language in ("nl", "fr", "de", "en"):
        scored = _scored(language, data.xed(data_dir, language, "test"), scorer, candidates)
        if scored is not None:
            (name, _, labelled), texts, gold = scored
            results["xed"][language] = {"method": name, **two_polarities(labelled(texts), gold)}
    if reference:
        result = scorer.score(pathlib.Path(reference).read_text(encoding="utf-8"), "nl")
        results["reference"] = {"file": pathlib.Path(reference).name, "score": result.score, "label": result.label,
                                "method": result.method, "negative_share": result.negative_share,
                                "positive_share": result.positive_share}  # fmt: skip
    return results


def provenance(argv: list[str]) -> dict:
    """When, by which command and at which commit the figures were made (`+changes`: tracked files other than
    the results differed from it)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":!/benchmarks/results")
    commit = git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["python", "benchmarks/sentiment_eval.py", *argv]), "commit": commit}  # fmt: skip


def markdown(results: dict) -> str:
    made = results["made"]
    lines = ["# Sentiment: held-out figures", "",
             "Made by `benchmarks/sentiment_eval.py` on the `test` portion of the development data (seeded split "
             f"`{results['split']['seed']}`, 70/15/15 for news; XED: half dev, half test). Test was read once, "
             "after method, features and bands were fixed on train/dev.", "",
             f"Measured {made['date']} at commit `{made['commit']}` by `{made['command']}`.", "",
             "## English and German news sentences (three classes)", "",
             "| language | method | n | accuracy | macro-F1 | majority (accuracy) | replaced method: accuracy / macro-F1 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for language, r in results["news"].items():
        s, old = r["shipped"], r["replaced"]
        rule = "most probable class; article band" if r["sentence_label"] != "band" else "band"
        lines.append(f"| {language} | `{r['method']}` ({rule} {r['band']}) | {s['n']} | {s['accuracy']} | {s['macro_f1']} | "
                     f"{s['majority']} ({s['majority_accuracy']}) | {old['accuracy']} / {old['macro_f1']} |")
    for language, r in results["news"].items():
        lines += ["", f"Confusion matrix, {language} (rows gold, columns predicted: negative, neutral, positive):", ""]
        lines += [f"    {gold:>8}: " + " ".join(f"{n:5d}" for n in row.values()) for gold, row in r["shipped"]["confusion"].items()]
    lines += ["", "## XED subtitle lines (two polarities; the only labelled Dutch and French material)", "",
              "| language | method | n | polarity given | agreement when given | macro-F1 (neutral = miss) | majority share |",
              "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for language, r in results["xed"].items():
        lines.append(f"| {language} | `{r['method']}` | {r['n']} | {r['coverage']} | {r['agreement_when_given']} | "
                     f"{r['macro_f1']} | {r['majority']} {r['majority_share']} |")
    if "reference" in results:
        r = results["reference"]
        lines += ["", "## Reference article", "",
                  f"`{r['file']}` (Dutch): score {r['score']}, label **{r['label']}**, negative share "
                  f"{r['negative_share']}, positive share {r['positive_share']} (`{r['method']}`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the sentiment development data folder (shared/data/sentiment)")
    parser.add_argument("--reference", help="the reference article (shared/samples/000_49427d75354bfe23.txt)")
    parser.add_argument("--candidates", type=pathlib.Path, help="folder of candidate model-<lang>.npz not shipped")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    results = {"made": provenance(sys.argv[1:]), **evaluate(args.data_dir, args.reference, args.candidates)}
    out = pathlib.Path(args.out)
    (out / "sentiment.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "sentiment.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
