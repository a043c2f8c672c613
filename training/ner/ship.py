"""Copy a trained pipeline into the package as ``newsbeam/models/xx_newsbeam_ner``.

Usage:
    python training/ner/ship.py training/ner/output/run1/model-best \
        [--dest newsbeam/models/xx_newsbeam_ner] [--lang nl --dest DIR] [--version X]

What it does and why:
* sets meta.json (name ``newsbeam_ner``, lang ``xx``, version, sources and
  licences) and writes a README.md with provenance, so the folder explains
  itself wherever it is copied;
* drops what inference does not need: the training-only ``before_init``
  callback reference and the stage-1 ``paths.source`` in config.cfg (the tokenizer rules it added are saved in
  ``tokenizer``), and the string store of the training corpus (entity labels
  are kept; every other string is re-derived from the input text);
* copies ``provenance.json`` (data sha256s, config, seed, commands, time),
  adding this command;
* checks that the shipped folder loads with plain ``spacy.load`` and predicts
  exactly what the trained pipeline predicts on a few texts.

``--lang nl`` (per-language experiment, needs ``--dest``) names the pipeline
``newsbeam_ner_nl`` and describes it as monolingual; the pruning is the same.
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import spacy

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VERSION = "0.2.0"
SOURCES = [
    {"name": "WikiANN (XTREME split)",
     "url": "https://github.com/davidsbatista/NER-datasets",
     "license": "CC BY-SA 3.0 (Wikipedia-derived silver labels)",
     "author": "Pan et al. 2017, Cross-lingual Name Tagging and Linking for 282 Languages, ACL"},
    {"name": "Europeana Newspapers NER corpora (KB nl, BnF fr, LFT/ONB/SBB de)",
     "url": "https://github.com/EuropeanaNewspapers/ner-corpora",
     "license": "CC0 1.0",
     "author": "Europeana Newspapers project"},
]
CHECK_TEXTS = [
    "Oekraïne heeft nu ook de grens met Rusland bereikt, volgens Oleh Synjehoebov, "
    "meldt AP. “Zeker een tactische overwinning”, zegt Dick Zandee van het Clingendael-instituut.",
    "Emmanuel Macron a reçu à l’Élysée le chancelier Olaf Scholz et des représentants de l’OTAN.",
    "Angela Merkel sprach am Montag in Berlin mit Vertretern der Europäischen Union.",
    "Reuters reported that Microsoft will open an office in Amsterdam, said Satya Nadella.",
]
README = """# {title} {version}

{scope} named-entity recognizer for newsbeam: labels
PER, ORG, LOC. A spaCy {spacy_version} pipeline (`tok2vec` CNN with hash
embeddings + transition-based `ner`), no word vectors; load it with
`spacy.load(path)`. It tokenises raw text itself (curly quotes, hyphenated
compounds and French elisions such as `l’Ukraine` are split).

## Training data and licences
- WikiANN (Pan et al. 2017, "Cross-lingual Name Tagging and Linking for 282
  Languages", ACL), Wikipedia-derived silver labels, XTREME split as
  redistributed by davidsbatista/NER-datasets: nl, en, fr, de train (20k
  sentences each) plus the dev sentences after the first 1,500 per language
  (8.5k each; the first 1,500 pick the checkpoint, test is never trained on).
  Attribution: Wikipedia contributors and the paper; Wikipedia text is
  CC BY-SA 3.0.
- Europeana Newspapers NER corpora (KB nl, BnF fr, LFT/ONB/SBB de), CC0 1.0:
  historic newspapers with OCR noise; 80 % of the text (by position) for
  training, 10 % dev, 10 % test.

## Provenance
Built by `training/ner/train.py` and `training/ner/ship.py` in the newsbeam
repository; `provenance.json` here lists the sha256 of every data file, the
config, the seed and the commands. Scores: `training/ner/EVALUATION.md`.
"""


def strip_training_only(dest):
    """Remove the before_init callback from the shipped config and prune strings."""
    config = dest / "config.cfg"
    text = config.read_text(encoding="utf-8")
    text = text.replace('[initialize.before_init]\n@callbacks = "newsbeam.news_tokenizer.v1"\n',
                        "")
    text = text.replace("[initialize]\n", "[initialize]\nbefore_init = null\n", 1)
    text = re.sub(r'^source = ".*"$', "source = null", text, count=1, flags=re.M)
    config.write_text(text, encoding="utf-8")
    strings = dest / "vocab" / "strings.json"
    kept = [s for s in json.loads(strings.read_text(encoding="utf-8")) if s in ("PER", "ORG", "LOC")]
    strings.write_text(json.dumps(kept), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="trained pipeline folder (model-best)")
    parser.add_argument("--dest", help="default newsbeam/models/xx_newsbeam_ner")
    parser.add_argument("--lang", choices=("nl", "en", "fr", "de"),
                        help="a monolingual pipeline of that language (needs --dest)")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args()
    if args.lang and not args.dest:
        parser.error("--lang needs --dest (the package folder is the multilingual model)")
    args.dest = args.dest or str(REPO / "newsbeam/models/xx_newsbeam_ner")
    source, dest = Path(args.source), Path(args.dest)
    sys.path.insert(0, str(HERE))
    import news_tokenizer  # noqa: F401  registers the callback named in the trained config

    scope = f"Monolingual ({args.lang})" if args.lang else "Multilingual (nl, en, fr, de)"
    trained = spacy.load(source)
    trained.meta.update({
        "name": f"newsbeam_ner_{args.lang}" if args.lang else "newsbeam_ner",
        "lang": "xx", "version": args.version,
        "description": f"{scope} PER/ORG/LOC NER for newsbeam news text.",
        "license": "CC BY-SA 3.0 (WikiANN is Wikipedia-derived; Europeana data CC0)",
        "author": "newsbeam", "sources": SOURCES,
    })
    if dest.exists():
        shutil.rmtree(dest)
    trained.to_disk(dest)
    strip_training_only(dest)
    provenance = source.parent / "provenance.json"
    if provenance.exists():
        record = json.loads(provenance.read_text(encoding="utf-8"))
        record["shipped_from"] = source.name
        stage = record
        while stage:  # repo-relative, interpreter-neutral commands, every stage
            stage["commands"] = [c.replace(sys.executable, "python").replace(f"{REPO}/", "")
                                 for c in stage["commands"]]
            stage = stage.get("source_model")
        record["commands"].append("python " + " ".join(
            [str(Path(__file__).resolve().relative_to(REPO))] + sys.argv[1:]))
        (dest / "provenance.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    title = f"newsbeam_ner_{args.lang}" if args.lang else "xx_newsbeam_ner"
    readme = README.format(title=title, scope=scope, version=args.version, spacy_version=spacy.__version__)
    (dest / "README.md").write_text(readme, encoding="utf-8")

    shipped = spacy.load(dest)
    for text in CHECK_TEXTS:
        want = [(e.start_char, e.end_char, e.label_) for e in trained(text).ents]
        got = [(e.start_char, e.end_char, e.label_) for e in shipped(text).ents]
        assert got == want, (text, want, got)
        print(got and [(text[a:b], lab) for a, b, lab in got])
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) / 1e6
    print(f"shipped {dest} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
