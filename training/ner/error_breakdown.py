"""Where a pipeline's entities go wrong on a DocBin of gold docs, overall and per label.

Usage:
    python training/ner/error_breakdown.py MODEL DOCBIN [DOCBIN ...]

The pipeline tags each doc's text; spans are compared by character offsets.  Each
gold entity is counted once, in the first class it fits:

* ``exact``: a predicted entity with the same span and label;
* ``label``: a predicted entity with the same span and another label;
* ``bound same`` / ``bound other``: no predicted entity with the same span, but one
  overlapping it (a boundary error), with the same label / only with other labels;
* ``missed``: no predicted entity overlaps it.

Of the predicted entities, ``spurious`` are those that overlap no gold entity
(counted under the predicted label).  P, R and F are exact span and label, as
``spacy evaluate`` scores them.  Run it on dev DocBins only
(``prepare_gold.py --dev-by-language``).
"""
import argparse
from collections import Counter

import spacy
from spacy.tokens import DocBin

from evaluate import prf

CLASSES = ("exact", "label", "bound same", "bound other", "missed")


def classify(gold, predicted):
    """Counters (gold entity classes, spurious predictions) keyed by (class, label) for one doc."""
    classes, spurious = Counter(), Counter()
    for a, b, label in gold:
        same_span = {pl for pa, pb, pl in predicted if (pa, pb) == (a, b)}
        overlapping = {pl for pa, pb, pl in predicted if pa < b and a < pb}
        if label in same_span:
            kind = "exact"
        elif same_span:
            kind = "label"
        elif label in overlapping:
            kind = "bound same"
        elif overlapping:
            kind = "bound other"
        else:
            kind = "missed"
        classes[kind, label] += 1
    for a, b, label in predicted:
        if not any(ga < b and a < gb for ga, gb, _ in gold):
            spurious[label] += 1
    return classes, spurious


def breakdown(nlp, docs):
    """Gold-entity classes, spurious counts and predicted counts per label over docs."""
    classes, spurious, predicted_n = Counter(), Counter(), Counter()
    predictions = nlp.pipe((doc.text for doc in docs), batch_size=64)
    for doc, pred in zip(docs, predictions):
        gold = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        predicted = {(e.start_char, e.end_char, e.label_) for e in pred.ents}
        doc_classes, doc_spurious = classify(gold, predicted)
        classes.update(doc_classes)
        spurious.update(doc_spurious)
        predicted_n.update(label for _, _, label in predicted)
    return classes, spurious, predicted_n


def table(classes, spurious, predicted_n):
    """Markdown rows: per label and all, gold count, classes, predictions, spurious, P/R/F."""
    labels = sorted({label for _, label in classes} | set(predicted_n))
    rows = ["| label | gold | " + " | ".join(CLASSES) + " | predicted | spurious | P | R | F |",
            "| --- | " + " | ".join(["---:"] * (len(CLASSES) + 6)) + " |"]
    for label in labels + [None]:
        counts = {k: sum(n for (c, lab), n in classes.items() if c == k and label in (None, lab)) for k in CLASSES}
        gold = sum(counts.values())
        pred = sum(n for lab, n in predicted_n.items() if label in (None, lab))
        spur = sum(n for lab, n in spurious.items() if label in (None, lab))
        exact = prf(counts["exact"], pred - counts["exact"], gold - counts["exact"])
        rows.append(f"| {label or 'all'} | {gold} | " + " | ".join(str(counts[k]) for k in CLASSES)
                    + f" | {pred} | {spur} | " + " | ".join(f"{100 * exact[m]:.1f}" for m in "prf") + " |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a spaCy pipeline folder")
    parser.add_argument("docbins", nargs="+", help="DocBins of gold docs (dev portions)")
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    for path in args.docbins:
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        print(f"\n{path} ({len(docs)} docs)\n")
        print(table(*breakdown(nlp, docs)))


if __name__ == "__main__":
    main()
