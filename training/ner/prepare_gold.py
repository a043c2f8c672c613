"""Build the four-label (PER, ORG, LOC, MISC) training corpus from gold and silver data.

Usage:
    python training/ner/prepare_gold.py /work/shared/data/ner [--out training/ner/corpus_gold] \
        [--gold-only] [--dev-by-language]

Writes ``train.spacy`` and ``dev.spacy`` (docs of consecutive sentences up to
``prepare.GROUP_TOKENS`` words, tokenised by the news tokenizer) from:

* hand-annotated gold (``gold/``): GermEval 2014 dev+test and UNER PUD (de),
  Wikigold, GUM and UNER EWT (en).  Each corpus is read in file order and cut
  into contiguous blocks of about BLOCK_TOKENS tokens (GUM's documents are about
  that long, GermEval's sentences are independent); block ``i`` of a corpus goes
  to dev when ``i % 10 == 8``, to test when ``i % 10 == 9``, else to train.  Test
  is never written here: ``evaluate.py`` reads it with ``gold_sentences``.
  Gold train sentences are repeated GOLD_REPEAT times.
* LER (German court decisions): the first LER_PER_COURT sentences with a name
  of each court, a minority of the mix.
* WikiANN train (first WIKI_PER_LANG sentences per language) and the Europeana
  train blocks (``prepare.py``'s split), PER/ORG/LOC silver.

``--gold-only`` keeps the gold corpora alone (train and dev blocks of the same
split); ``--dev-by-language`` also writes each dev part by itself
(``dev_gold_de.spacy``, ``dev_gold_en.spacy``, ``dev_wikiann_nl.spacy``,
``dev_europeana_fr.spacy``, ...) to score a model per language;
``--train-blocks 4`` keeps half of the gold train blocks (``i % 10 < 4``), to
see how dev F1 grows with the amount of gold.

Every corpus goes through ``conventions.relabel`` (demonyms MISC, seats of
government ORG), and GUM through ``clean_gum`` first: its names come from
entity mentions and carry titles (``President``, ``US President Barack
Obama``), a possessive ``'s``, lower-case mentions and countries as ORG.
"""
import argparse
import random
from collections import Counter
from pathlib import Path

from spacy.tokens import DocBin

import conventions
import news_tokenizer
import prepare

LANGS_GOLD = {"de", "en"}
BLOCK_TOKENS = 1000
GOLD_REPEAT = 2
LER_PER_COURT = 500
WIKI_PER_LANG = 10000
WIKI_DEV_PER_LANG = 300
# name: (language, files under gold/, annotated with MISC)
GOLD = {
    "germeval_de": ("de", ["germeval2014_de/dev.iob2", "germeval2014_de/test.iob2"], True),
    "uner_pud_de": ("de", ["uner/de_pud-test.iob2"], False),
    "wikigold_en": ("en", ["wikigold_en/wikigold.iob2"], True),
    "gum_en": ("en", [f"gum_en/{g}.iob2" for g in
                      ("academic", "bio", "court", "interview", "news", "voyage")], True),
    "uner_ewt_en": ("en", ["uner/en_ewt-dev.iob2", "uner/en_ewt-test.iob2"], False),
}
LER_COURTS = ("bag", "bfh", "bgh", "bpatg", "bsg", "bverfg", "bverwg")
GUM_TITLES = {
    "President", "Vice", "Prime", "Minister", "Senator", "Sen.", "Governor", "Gov.", "Mayor",
    "King", "Queen", "Prince", "Princess", "Pope", "Saint", "St.", "Sir", "Lord", "Lady",
    "Dr.", "Dr", "Doctor", "Professor", "Prof.", "Mr.", "Mr", "Mrs.", "Mrs", "Ms.", "Ms",
    "Miss", "General", "Gen.", "Captain", "Capt.", "Colonel", "Col.", "Judge", "Justice",
    "Chief", "Secretary", "Chairman", "CEO", "Rev.", "Reverend", "Father", "Brother",
    "Sister", "Emperor", "Empress", "Representative", "Rep.", "Officer", "Detective",
    "Coach", "Director", "Ambassador", "Bishop", "Archbishop", "Cardinal", "Rabbi", "Imam",
    "Commissioner", "Lieutenant", "Lt.", "Sergeant", "Sgt.", "Admiral", "Major",
    "US", "U.S.", "UK", "American", "British", "former", "the", "The"}
POSSESSIVE = {"'s", "’s", "'", "’"}


def read_iob(path):
    """Yield (words, tags) per sentence of a token-TAB-tag file, tags made IOB2."""
    words, tags = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                yield words, to_iob2(tags)
            words, tags = [], []
            continue
        token, tag = line.rsplit("\t", 1)
        words.append(token.strip() or "_")
        tags.append(tag.strip())
    if words:
        yield words, to_iob2(tags)


def to_iob2(tags):
    """IOB1 or sloppy IOB2 tags as IOB2 (an ``I-`` that opens an entity becomes ``B-``)."""
    out, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def wikiann_places(data_dir, lang="en"):
    """Names that WikiANN train tags LOC more often than anything else (countries, cities)."""
    votes = {}
    for words, tags in prepare.read_wikiann(Path(data_dir) / "wikiann" / lang / "train"):
        for a, b, label in prepare.iob_spans(tags):
            votes.setdefault(" ".join(words[a:b]), Counter())[label] += 1
    return {name for name, count in votes.items() if count.most_common(1)[0][0] == "LOC"}


def clean_gum(words, tags, places):
    """GUM names as CoNLL would tag them.

    No titles or possessive inside a name, no lower-case mention (``it``), and a
    place acting as a government (``Belgium`` ORG in GUM) is LOC: ``places``
    are the names WikiANN mostly tags LOC.
    """
    tags = list(tags)
    for start, end, label in conventions._spans(tags):
        a, b = start, end
        if label == "PER":
            while a < b - 1 and words[a] in GUM_TITLES:
                a += 1
        while b > a and words[b - 1] in POSSESSIVE:
            b -= 1
        if not any(w[:1].isupper() or w[:1].isdigit() for w in words[a:b]):
            a = b  # "it", "the company": a mention, not a name
        if label == "ORG" and " ".join(words[a:b]) in places:
            label = "LOC"
        for k in range(start, end):
            tags[k] = "O"
        if a < b:
            conventions._set(tags, a, b, label)
    return tags


def corpus_sentences(data_dir, name):
    """All sentences of one gold corpus in file order, cleaned and relabelled."""
    lang, files, _ = GOLD[name]
    places = wikiann_places(data_dir) if name == "gum_en" else set()
    for rel in files:
        for words, tags in read_iob(Path(data_dir) / "gold" / rel):
            if name == "gum_en":
                tags = clean_gum(words, tags, places)
            yield words, conventions.relabel(words, tags, lang)


def gold_sentences(data_dir, name, split, train_blocks=8):
    """(words, tags) of one gold corpus and one contiguous-block split.

    ``train_blocks`` (at most 8) keeps train blocks ``i % 10 < train_blocks``
    only, a smaller share of the same train split (dev and test unchanged).
    """
    wanted = {"train": set(range(min(train_blocks, 8))), "dev": {8}, "test": {9}}[split]
    out, block, size = [], 0, 0
    for words, tags in corpus_sentences(data_dir, name):
        if block % 10 in wanted:
            out.append((words, tags))
        size += len(words)
        if size >= BLOCK_TOKENS:
            block, size = block + 1, 0
    return out


def gold_records(data_dir, name, split, train_blocks=8):
    """Records (text + character spans, four labels) of a gold corpus split."""
    return [prepare.to_record(w, prepare.iob_spans(t))
            for w, t in gold_sentences(data_dir, name, split, train_blocks)]


def ler_records(data_dir):
    """The first LER_PER_COURT sentences with a name of each court, relabelled."""
    records = []
    for court in LER_COURTS:
        kept = 0
        for words, tags in read_iob(Path(data_dir) / "gold" / "ler_de" / f"{court}.iob2"):
            if kept == LER_PER_COURT:
                break
            tags = conventions.relabel(words, tags, "de")
            spans = prepare.iob_spans(tags)
            if spans:
                records.append(prepare.to_record(words, spans))
                kept += 1
    return records


def wikiann_records(data_dir, lang, split, limit):
    """The first ``limit`` WikiANN sentences of a split, relabelled."""
    path = Path(data_dir) / "wikiann" / lang / split
    records = []
    for words, tags in prepare.read_wikiann(path):
        if len(records) == limit:
            break
        tags = conventions.relabel(words, to_iob2(tags), lang)
        records.append(prepare.to_record(words, prepare.iob_spans(tags)))
    return records


def europeana_records(data_dir, lang, split):
    """Europeana records of prepare.py's positional split, demonyms as MISC."""
    records = []
    for record in prepare.europeana_records(data_dir, lang, split):
        words = record["text"].split(" ")
        records.append(relabel_record(record, words, lang))
    return records


def relabel_record(record, words, lang):
    """Apply conventions.relabel to a record built by prepare.to_record (space-joined words)."""
    starts, pos = [], 0
    for word in words:
        starts.append(pos)
        pos += len(word) + 1
    tags = ["O"] * len(words)
    for a, b, label in record["ents"]:
        inside = [i for i, s in enumerate(starts) if s < b and s + len(words[i]) > a]
        if inside:
            conventions._set(tags, inside[0], inside[-1] + 1, label)
    return prepare.to_record(words, prepare.iob_spans(conventions.relabel(words, tags, lang)))


def build(data_dir, gold_only=False, train_blocks=8, gold_repeat=GOLD_REPEAT, wiki_per_lang=WIKI_PER_LANG):
    """The train records and the dev parts of the four-label mix.

    The dev parts are ``{"<source>_<lang>": records}`` (``gold_de``,
    ``wikiann_nl``, ``europeana_fr``, ...) in the order ``dev.spacy`` joins
    them.  ``gold_only`` leaves out LER, WikiANN and Europeana;
    ``train_blocks`` is passed to ``gold_sentences``; ``gold_repeat`` copies of the gold train blocks go in, and
    ``wiki_per_lang`` WikiANN train sentences per language.
    """
    train, dev = [], {}
    for name, (lang, _, _) in GOLD.items():
        gold = gold_records(data_dir, name, "train", train_blocks)
        train += prepare.group_records(gold) * gold_repeat
        dev.setdefault(f"gold_{lang}", []).extend(prepare.group_records(gold_records(data_dir, name, "dev")))
    if not gold_only:
        train += prepare.group_records(ler_records(data_dir))
        for lang in prepare.LANGS:
            train += prepare.group_records(wikiann_records(data_dir, lang, "train", wiki_per_lang))
            dev[f"wikiann_{lang}"] = prepare.group_records(wikiann_records(data_dir, lang, "dev", WIKI_DEV_PER_LANG))
            if lang in prepare.EUROPEANA:
                train += prepare.group_records(europeana_records(data_dir, lang, "train"))
                dev[f"europeana_{lang}"] = prepare.group_records(europeana_records(data_dir, lang, "dev"))
    random.Random(0).shuffle(train)
    return train, dev


def write_docbin(nlp, records, path):
    """Records as a DocBin at ``path``; print its size and entity counts."""
    docs = [prepare.to_doc(nlp, r) for r in records]
    DocBin(docs=docs, store_user_data=False).to_disk(path)
    labels = Counter(ent.label_ for doc in docs for ent in doc.ents)
    print(f"{path.stem}: {len(docs)} docs, {sum(len(d) for d in docs)} tokens, entities {dict(labels)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding gold/, wikiann/ and europeana/")
    parser.add_argument("--out", default=str(Path(__file__).parent / "corpus_gold"))
    parser.add_argument("--gold-only", action="store_true",
                        help="gold train and dev blocks only (no LER, WikiANN, Europeana)")
    parser.add_argument("--train-blocks", type=int, default=8,
                        help="gold train blocks kept per ten (i %% 10 < N; default all 8), for a learning curve")
    parser.add_argument("--dev-by-language", action="store_true",
                        help="also write each dev part alone as dev_<source>_<lang>.spacy")
    parser.add_argument("--gold-repeat", type=int, default=GOLD_REPEAT, help="copies of the gold train blocks")
    parser.add_argument("--wiki-per-lang", type=int, default=WIKI_PER_LANG, help="WikiANN train sentences per language")
    args = parser.parse_args()
    nlp = news_tokenizer.blank()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, dev = build(args.data_dir, args.gold_only, args.train_blocks, args.gold_repeat, args.wiki_per_lang)
    write_docbin(nlp, train, out / "train.spacy")
    write_docbin(nlp, [r for part in dev.values() for r in part], out / "dev.spacy")
    if args.dev_by_language:
        for part, records in dev.items():
            write_docbin(nlp, records, out / f"dev_{part}.spacy")


if __name__ == "__main__":
    main()
