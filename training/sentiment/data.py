"""Development data for the sentiment step, split once into train/dev/test by a seeded hash of each item.

The split is a pure function of the item's text and `SEED`, so every script sees the same portions without
writing them anywhere. Methods, features and the neutral band are chosen on `train`/`dev`; `test` is read
only by `benchmarks/sentiment_eval.py` to report.

News (en, de): `gold` is the polarity towards a target in the sentence (NewsMTSC, GerNTSA), three classes.
XED (nl, fr, and de/en for comparison): subtitle lines with emotion labels, mapped to two polarities
(`xed_polarity`); lines with no neutral label exist only in English, so the projections have no neutral class.
"""

from __future__ import annotations

import csv
import hashlib
import json
import pathlib
from dataclasses import dataclass

SEED = "newsbeam-sentiment-1"
# Share of each corpus in train and dev; the rest is test.
NEWS_SPLIT = (0.70, 0.15)
XED_SPLIT = (0.0, 0.5)  # nothing is trained on XED: half to choose a method on, half to report
LABELS = ("negative", "neutral", "positive")
NEWS_FILES = {
    "en": "newsmtsc_en_dev/newsmtsc_dev_en.jsonl",
    "de": "gerntsa_de_dev/gerntsa_dev_de.jsonl",
}
XED_FILES = {"nl": "nl-projections.tsv", "fr": "fr-projections.tsv", "de": "de-projections.tsv",
             "en": "en-projections.tsv"}  # fmt: skip
# XED emotion numbers: 1 anger, 2 anticipation, 3 disgust, 4 fear, 5 joy, 6 sadness, 7 surprise, 8 trust.
XED_NEGATIVE = frozenset({1, 3, 4, 6})
XED_POSITIVE = frozenset({5, 8})


@dataclass(frozen=True)
class Item:
    text: str
    gold: str


def portion(key: str, shares: tuple[float, float]) -> str:
    """`train`, `dev` or `test` for an item, by a seeded hash of its key (stable across runs and machines)."""
    digest = hashlib.sha256(f"{SEED}\0{key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < shares[0]:
        return "train"
    return "dev" if draw < shares[0] + shares[1] else "test"


def news(data_dir: str | pathlib.Path, language: str, split: str) -> list[Item]:
    """One portion of a language's news sentences (`data_dir` is the `sentiment/` data folder)."""
    path = pathlib.Path(data_dir) / NEWS_FILES[language]
    items = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if portion(row["text"], NEWS_SPLIT) == split:
                items.append(Item(row["text"], row["gold"]))
    return items


def xed_polarity(labels: set[int]) -> str | None:
    """`negative` for anger/disgust/fear/sadness, `positive` for joy/trust; None for mixed or other lines."""
    negative, positive = bool(labels & XED_NEGATIVE), bool(labels & XED_POSITIVE)
    if negative == positive:
        return None
    return "negative" if negative else "positive"


def xed(data_dir: str | pathlib.Path, language: str, split: str) -> list[Item]:
    """One portion of a language's XED lines that map to a single polarity."""
    path = pathlib.Path(data_dir) / "xed" / XED_FILES[language]
    items = []
    with open(path, encoding="utf-8", newline="") as lines:
        for text, labels in csv.reader(lines, delimiter="\t"):  # quoted lines may span several lines
            polarity = xed_polarity({int(x) for x in labels.split(",") if x.strip()})
            if text and polarity and portion(text, XED_SPLIT) == split:
                items.append(Item(text, polarity))
    return items
