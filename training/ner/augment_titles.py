"""Training sentences in which a title opens the sentence before a person's name.

Usage:
    python training/ner/augment_titles.py /work/shared/data/ner [--out training/ner/corpus_aug] [--repeat 3] \
        [--europeana nl]

GUM's names are cleaned of titles (CoNLL convention), and a model fine-tuned on
them learnt to drop a name together with a sentence-initial title
(``Minister Mark Rutte sprak ...``: no entity).  This takes the WikiANN train
sentences (``prepare_gold.wikiann_records``) that open with a PER name and puts
a title of the language before it, the title outside the name; written as
``aug.spacy`` next to a link to ``corpus_gold/train.spacy``, so that spaCy's
corpus reader trains on both.  ``--europeana LANG`` adds another copy of that
language's Europeana train blocks: the titled WikiANN sentences lowered Dutch
Europeana PER, the one news-like Dutch test set.
"""
import argparse
import random
from pathlib import Path

from spacy.tokens import DocBin

import news_tokenizer
import prepare
import prepare_gold

REPEAT = 3  # about 9 % of the mix; once is about 3 %
TITLES = {
    "nl": ["Minister", "Premier", "President", "Burgemeester", "Koning", "Staatssecretaris", "Generaal", "Professor"],
    "en": ["Minister", "President", "Prime Minister", "Senator", "Governor", "King", "General", "Professor"],
    "fr": ["Le ministre", "Le président", "Le premier ministre", "Le général", "Le maire", "Le professeur"],
    "de": ["Minister", "Bundeskanzler", "Präsident", "Bürgermeister", "König", "General", "Professor"],
}


def titled(records, titles, rng):
    """Records that open with a PER entity, with a title put before the sentence."""
    out = []
    for record in records:
        first = min(record["ents"], default=None)
        if not first or first[0] != 0 or first[2] != "PER":
            continue
        title = rng.choice(titles) + " "
        out.append({"text": title + record["text"],
                    "ents": [(a + len(title), b + len(title), lab) for a, b, lab in record["ents"]]})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--out", default=str(Path(__file__).parent / "corpus_aug"))
    parser.add_argument("--repeat", type=int, default=REPEAT, help="copies of the titled sentences")
    parser.add_argument("--europeana", nargs="*", default=[], choices=sorted(prepare.EUROPEANA),
                        help="languages whose Europeana train blocks get one more copy")
    args = parser.parse_args()
    rng, nlp, out = random.Random(0), news_tokenizer.blank(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for lang, titles in TITLES.items():
        wiki = prepare_gold.wikiann_records(args.data_dir, lang, "train", prepare_gold.WIKI_PER_LANG)
        records += titled(wiki, titles, rng)
    rng.shuffle(records)
    docs = [prepare.to_doc(nlp, r) for r in prepare.group_records(records)] * args.repeat
    for lang in args.europeana:
        docs += [prepare.to_doc(nlp, r)
                 for r in prepare.group_records(prepare_gold.europeana_records(args.data_dir, lang, "train"))]
    DocBin(docs=docs, store_user_data=False).to_disk(out / "aug.spacy")
    link = out / "train.spacy"
    if not link.exists():
        link.symlink_to((Path(__file__).parent / "corpus_gold" / "train.spacy").resolve())
    print(f"{len(records)} titled sentences; {len(docs)} docs with the Europeana copies")


if __name__ == "__main__":
    main()
