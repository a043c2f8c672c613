"""Copy a trained NER pipeline with extra entity labels, as the start of a fine-tuning run.

Usage:
    python training/ner/extend_labels.py newsbeam/models/xx_newsbeam_ner \
        training/ner/output/start-misc [--label MISC]

spaCy does not initialise a component sourced from another pipeline, so a label
the source never had (MISC for 0.2.0) must be added before training:
``add_label`` widens the NER output layer and keeps every trained weight.
"""
import argparse

import spacy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("dest")
    parser.add_argument("--label", action="append", default=None)
    args = parser.parse_args()
    nlp = spacy.load(args.source)
    ner = nlp.get_pipe("ner")
    for label in args.label or ["MISC"]:
        ner.add_label(label)
    nlp.to_disk(args.dest)
    print(f"{args.dest}: labels {ner.labels}")


if __name__ == "__main__":
    main()
