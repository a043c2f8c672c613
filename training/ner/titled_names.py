"""How often NER pipelines find a person's name after a title that opens the sentence.

Usage:
    python training/ner/titled_names.py /work/shared/data/ner \
        --model 0.2.0=training/ner/output/model-0.2.0 --model cand=training/ner/output/candidate [--limit 1500]

Dev F1 does not measure the pattern ``Minister Mark Rutte sprak ...`` that a
model fine-tuned on title-free names (GUM, CoNLL convention) learnt to miss.
This takes the first ``--limit`` WikiANN *dev* sentences per language (the dev
part of stage 1, never trained on) that open with a PER name, puts a title of
the language before each (``augment_titles.titled``, seed 0) and counts, per
model and language, the sentences where that name is found with exact span and
label PER.
"""
import argparse
import random

import spacy

import augment_titles
import evaluate
import prepare_gold


def titled_dev(data_dir, limit):
    """{lang: titled records} from the first ``limit`` WikiANN dev sentences of each language."""
    rng = random.Random(0)
    return {lang: augment_titles.titled(prepare_gold.wikiann_records(data_dir, lang, "dev", limit), titles, rng)
            for lang, titles in augment_titles.TITLES.items()}


def found_titled(nlp, records):
    """Number of records whose first (titled) name the pipeline tags PER with its exact span."""
    predicted = evaluate.predict(nlp, [r["text"] for r in records])
    return sum(min(r["ents"]) in spans for r, spans in zip(records, predicted))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--limit", type=int, default=1500)
    args = parser.parse_args()
    sets = titled_dev(args.data_dir, args.limit)
    print("model | " + " | ".join(f"{lang} (of {len(records)})" for lang, records in sets.items()))
    for name, path in (m.split("=", 1) for m in args.model):
        nlp = spacy.load(path)
        print(name + " | " + " | ".join(str(found_titled(nlp, records)) for records in sets.values()),
              flush=True)


if __name__ == "__main__":
    main()
