"""F1 of a pipeline on the dev portions, alone and after newsbeam's news conventions (the rules are set on these).

Columns: the model alone; after the word-list and span rules; after those and the untagged country names
(newsbeam passes the gazetteer's ``names_only_a_country``, as here).

Usage:
    python training/ner/conventions_dev.py /work/shared/data/ner [--model newsbeam/models/xx_newsbeam_ner]

Dev portions: the gold dev blocks (``prepare_gold``; four labels, news conventions), the Europeana dev blocks and
the first 1,500 WikiANN dev sentences per language (PER/ORG/LOC as distributed). Test portions are not read.
"""
import argparse
import sys
from pathlib import Path

import spacy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402
import evaluate_news  # noqa: E402
import news_tokenizer  # noqa: E402
import prepare  # noqa: E402
import prepare_gold  # noqa: E402

from newsbeam.transforms.enrich.conventions import conform  # noqa: E402
from newsbeam.transforms.enrich.gazetteer import load_gazetteer  # noqa: E402

WIKI_DEV = 1500


def dev_sets(data_dir):
    """{(set, lang): (records, labels)} of the dev portions."""
    sets = {}
    for name, (lang, _, _) in prepare_gold.GOLD.items():
        records = sets.setdefault(("gold", lang), ([], evaluate_news.FOUR))[0]
        records += prepare_gold.gold_records(data_dir, name, "dev")
    for lang in prepare.LANGS:
        if lang in prepare.EUROPEANA:
            sets["europeana", lang] = (prepare.europeana_records(data_dir, lang, "dev"), evaluate_news.THREE)
        sets["wikiann", lang] = (prepare.wikiann_records(data_dir, lang, "dev")[:WIKI_DEV], evaluate_news.THREE)
    return sets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--model", default="newsbeam/models/xx_newsbeam_ner")
    args = parser.parse_args()
    nlp, tokenizer = spacy.load(args.model), news_tokenizer.blank()
    is_country = load_gazetteer().names_only_a_country
    print("| dev set | lang | sentences | F1 alone | with word lists and span rules | with country names too |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for (key, lang), (records, labels) in dev_sets(args.data_dir).items():
        texts, gold = evaluate.gold_sets(tokenizer, records)
        docs = list(nlp.pipe(texts, batch_size=256))
        scores = [
            evaluate_news.score(gold, [{(e.start_char, e.end_char, e.label_) for e in ents(doc)} for doc in docs],
                                labels)["all"]["f"]
            for ents in (lambda doc: doc.ents, lambda doc: conform(doc, lang),
                         lambda doc: conform(doc, lang, is_country))
        ]
        print(f"| {key} | {lang} | {len(texts)} | " + " | ".join(f"{100 * f:.1f}" for f in scores) + " |",
              flush=True)


if __name__ == "__main__":
    main()
