"""Convert the shared IOB corpora into spaCy DocBin files for NER training.

Usage:
    python training/ner/prepare.py /work/shared/data/ner [--out training/ner/corpus] [--lang nl]

Writes ``train.spacy`` (all WikiANN train sentences, the WikiANN dev
sentences after the first DEV_PER_LANG of each language, and the Europeana
train blocks, one doc per sentence), ``train_grouped.spacy`` (the same
sentences, consecutive ones joined into docs of at most GROUP_TOKENS tokens, so
the model also sees sentence boundaries and capitalised sentence starts inside
a text, as in a raw article) and ``dev.spacy`` (the first DEV_PER_LANG WikiANN
dev sentences per language + Europeana dev blocks; used only to pick the best
checkpoint) to the output folder.  WikiANN test and Europeana test
are never written here: ``evaluate.py`` reads them with the same functions.

Why it re-tokenises: the shipped pipeline sees raw article text, so each
sentence is turned back into text (tokens joined by spaces) and tokenised with
the pipeline's own tokenizer (``news_tokenizer.py``); entity spans are carried over as character
offsets, trimmed of punctuation glued to the OCR tokens (``Chatham,``).  Training
and inference therefore see the same tokenisation.

Europeana files are IOB1 (``I-`` may open an entity), are partly without
sentence breaks and have no document markers, so they are cut into
pseudo-sentences (at sentence-final punctuation followed by a capital, or at
MAX_SENT_TOKENS tokens outside an entity) and the sentences are grouped into
blocks of about BLOCK_TOKENS tokens; block ``i`` goes to dev when
``i % 10 == 8``, to test when ``i % 10 == 9``, else to train.  The split is
deterministic and by position, so test text is unseen running text.

``--lang xx`` writes the same three files from one language's part only (same
split rules), for a monolingual model; without it all of LANGS go in.
"""
import argparse
import re
from pathlib import Path

import spacy
from spacy.tokens import DocBin

import news_tokenizer

LANGS = ("nl", "en", "fr", "de")
LABELS = {"PER", "ORG", "LOC", "MISC"}
EUROPEANA = {
    "nl": ["enp_NL.kb.bio"],
    "fr": ["enp_FR.bnf.bio"],
    "de": ["enp_DE.lft.bio", "enp_DE.onb.bio", "enp_DE.sbb.bio"],
}
DEV_PER_LANG = 1500
MAX_SENT_TOKENS = 60
GROUP_TOKENS = 100
BLOCK_TOKENS = 2000
TRIM = ".,;:!?()[]{}«»„“”‘’'\"‹›‚¬*"
TAG_RE = re.compile(r"^(O|[BI]-[A-Z]+)$")


def read_wikiann(path):
    """Yield (words, tags) per sentence from a WikiANN file (IOB2, `xx:` prefixes)."""
    words, tags = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                yield words, tags
            words, tags = [], []
            continue
        token, tag = line.rsplit("\t", 1)
        words.append(token.split(":", 1)[1])
        tags.append(tag)
    if words:
        yield words, tags


def read_europeana_tokens(path):
    """Return (words, tags) for a whole Europeana file.

    Skips metadata comments (`# file:\t...`), keeps tokens whose label is
    missing or malformed as `O`, and joins tokens that contain spaces.
    """
    words, tags = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or (line.startswith("# ") and "\t" in line):
            continue
        parts = line.split()
        if len(parts) > 1 and TAG_RE.match(parts[-1]):
            token, tag = "".join(parts[:-1]), parts[-1]
        else:
            token, tag = "".join(parts), "O"
        words.append(token)
        tags.append(tag)
    return words, tags


def iob_spans(tags):
    """Token spans [(start, end, label)] from IOB1 or IOB2 tags; unknown labels dropped."""
    spans, start, label = [], None, None
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, kind = tag.partition("-")
        opens = prefix == "B" or (prefix == "I" and kind != label)
        if start is not None and (prefix == "O" or opens):
            spans.append((start, i, label))
            start, label = None, None
        if opens:
            start, label = i, kind
    return [s for s in spans if s[2] in LABELS]


def pseudo_sentences(words, spans):
    """Cut a long token run into sentences, never inside an entity."""
    inside = [False] * len(words)
    for start, end, _ in spans:
        for i in range(start, end - 1):
            inside[i] = True
    cuts, begin = [], 0
    for i, word in enumerate(words):
        if inside[i]:
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        final = word[-1:] in ".!?" and (nxt[:1].isupper() or not nxt[:1].isalnum())
        if final or i + 1 - begin >= MAX_SENT_TOKENS:
            cuts.append((begin, i + 1))
            begin = i + 1
    if begin < len(words):
        cuts.append((begin, len(words)))
    for begin, end in cuts:
        yield words[begin:end], [(s - begin, e - begin, lab) for s, e, lab in spans
                                 if s >= begin and e <= end]


def to_record(words, spans):
    """Join words with spaces; entity token spans become trimmed character spans."""
    offsets, pos = [], 0
    for word in words:
        offsets.append(pos)
        pos += len(word) + 1
    text = " ".join(words)
    ents = []
    for start, end, label in spans:
        a, b = offsets[start], offsets[end - 1] + len(words[end - 1])
        while a < b and text[a] in TRIM:
            a += 1
        while b > a and text[b - 1] in TRIM:
            b -= 1
        if a < b:
            ents.append((a, b, label))
    return {"text": text, "ents": ents}


def wikiann_records(data_dir, lang, split):
    """Records for one WikiANN language and split."""
    path = Path(data_dir) / "wikiann" / lang / split
    return [to_record(w, iob_spans(t)) for w, t in read_wikiann(path)]


def europeana_records(data_dir, lang, split):
    """Records for one language's Europeana files and one positional split."""
    wanted = {"train": set(range(8)), "dev": {8}, "test": {9}}[split]
    records = []
    for name in EUROPEANA[lang]:
        words, tags = read_europeana_tokens(Path(data_dir) / "europeana" / name)
        block, size = 0, 0
        for sent_words, sent_spans in pseudo_sentences(words, iob_spans(tags)):
            if block % 10 in wanted:
                records.append(to_record(sent_words, sent_spans))
            size += len(sent_words)
            if size >= BLOCK_TOKENS:
                block, size = block + 1, 0
    return records


def group_records(records):
    """Join consecutive records into records of at most GROUP_TOKENS words."""
    grouped, text, ents, size = [], "", [], 0
    for record in records:
        n = len(record["text"].split())
        if text and size + n > GROUP_TOKENS:
            grouped.append({"text": text, "ents": ents})
            text, ents, size = "", [], 0
        shift = len(text) + 1 if text else 0
        text = f"{text} {record['text']}" if text else record["text"]
        ents = ents + [(a + shift, b + shift, lab) for a, b, lab in record["ents"]]
        size += n
    if text:
        grouped.append({"text": text, "ents": ents})
    return grouped


def to_doc(nlp, record):
    """Tokenise a record with the pipeline tokenizer and set its entities.

    Spans snap outwards to token boundaries, so an over-trimmed initial
    (``J`` of ``J.``) or elision (``'s Hage``) keeps its token.
    """
    doc = nlp.make_doc(record["text"])
    spans = []
    for a, b, label in record["ents"]:
        span = doc.char_span(a, b, label=label, alignment_mode="expand")
        if span is not None and len(span):
            spans.append(span)
    doc.ents = spacy.util.filter_spans(spans)
    return doc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding wikiann/ and europeana/")
    parser.add_argument("--out", default=str(Path(__file__).parent / "corpus"))
    parser.add_argument("--lang", choices=LANGS, help="only this language (default: all)")
    args = parser.parse_args()
    nlp = news_tokenizer.blank()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = {"train": [], "train_grouped": [], "dev": []}
    for lang in [args.lang] if args.lang else LANGS:
        wiki_dev = wikiann_records(args.data_dir, lang, "dev")
        wiki = wikiann_records(args.data_dir, lang, "train") + wiki_dev[DEV_PER_LANG:]
        sets["train"] += wiki
        sets["train_grouped"] += group_records(wiki)
        sets["dev"] += wiki_dev[:DEV_PER_LANG]
        if lang in EUROPEANA:
            enp = europeana_records(args.data_dir, lang, "train")
            sets["train"] += enp
            sets["train_grouped"] += group_records(enp)
            sets["dev"] += europeana_records(args.data_dir, lang, "dev")
    for split, records in sets.items():
        docs = [to_doc(nlp, r) for r in records]
        DocBin(docs=docs, store_user_data=False).to_disk(out / f"{split}.spacy")
        n_ents = sum(len(d.ents) for d in docs)
        n_tokens = sum(len(d) for d in docs)
        print(f"{split}: {len(docs)} docs, {n_tokens} tokens, {n_ents} entities")


if __name__ == "__main__":
    main()
