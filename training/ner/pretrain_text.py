"""Write raw, unlabelled training text as JSONL for ``spacy pretrain``.

Usage:
    python training/ner/pretrain_text.py /work/shared/data/ner \
        --out training/ner/output/pretrain/raw_text.jsonl [--max-words-per-lang 0]

One ``{"text": ...}`` object per line.  The text is exactly the text of the
stage-1 training set (``prepare.py``'s ``train.spacy``): per language the
WikiANN train sentences, the WikiANN dev sentences after the first
``prepare.DEV_PER_LANG`` (those go to training there too), and the Europeana
train blocks (positional split, ``block % 10`` in 0..7).  WikiANN test, the
WikiANN dev sentences used as ``dev.spacy`` and the Europeana dev/test blocks
are never read into the output: the same ``prepare.py`` functions select the
split.  Sentences are joined into docs of at most ``prepare.GROUP_TOKENS``
words (``prepare.group_records``, as ``train_grouped.spacy``), so the objective
sees sentence boundaries inside a text.

Reuters-21578 (``/work/shared/data/corpora``) is deliberately not used: its
README allows it for benchmarks and evaluation only, never in the product, and
pretrained weights would end up in the shipped model.

``--max-words-per-lang N`` caps each language (whole docs, taken alternately
from WikiANN and Europeana in file order, so a cap keeps both sources) to
balance the languages; 0 keeps everything.  The output is interleaved
round-robin across languages (``spacy pretrain`` reads the file in order).
Prints counts.
"""
import argparse
import json
from pathlib import Path

import prepare


def language_docs(data_dir, lang):
    """(source, text) docs of one language's training text, grouped."""
    wiki_dev = prepare.wikiann_records(data_dir, lang, "dev")
    wiki = prepare.wikiann_records(data_dir, lang, "train") + wiki_dev[prepare.DEV_PER_LANG:]
    wiki = [("wikiann", r["text"]) for r in prepare.group_records(wiki)]
    enp = []
    if lang in prepare.EUROPEANA:
        records = prepare.europeana_records(data_dir, lang, "train")
        enp = [("europeana", r["text"]) for r in prepare.group_records(records)]
    docs = []  # alternate the two sources, so a cap keeps both
    for i in range(max(len(wiki), len(enp))):
        docs += wiki[i:i + 1] + enp[i:i + 1]
    return docs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding wikiann/ and europeana/")
    parser.add_argument("--out", required=True, help="JSONL file to write")
    parser.add_argument("--max-words-per-lang", type=int, default=0)
    args = parser.parse_args()
    per_lang = {}
    for lang in prepare.LANGS:
        docs, kept, words = language_docs(args.data_dir, lang), [], 0
        for source, text in docs:
            n = len(text.split())
            if args.max_words_per_lang and words + n > args.max_words_per_lang:
                break
            kept.append((source, text))
            words += n
        per_lang[lang] = kept
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    longest = max(len(docs) for docs in per_lang.values())
    with open(out, "w", encoding="utf-8") as handle:
        for i in range(longest):  # round-robin across languages
            for lang in prepare.LANGS:
                if i < len(per_lang[lang]):
                    handle.write(json.dumps({"text": per_lang[lang][i][1]},
                                            ensure_ascii=False) + "\n")
    total_docs = total_words = 0
    for lang, docs in per_lang.items():
        for source in ("wikiann", "europeana"):
            texts = [t for s, t in docs if s == source]
            if texts:
                n = sum(len(t.split()) for t in texts)
                print(f"{lang} {source}: {len(texts)} docs, {n} words")
        total_docs += len(docs)
        total_words += sum(len(t.split()) for _, t in docs)
    print(f"total: {total_docs} docs, {total_words} words -> {out}")


if __name__ == "__main__":
    main()
