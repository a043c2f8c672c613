"""Copy a trained pipeline into the package as ``newsbeam/models/xx_newsbeam_ner``.

Usage:
    python training/ner/ship.py training/ner/output/run1/model-best \
        [--dest newsbeam/models/xx_newsbeam_ner] [--lang nl --dest DIR] [--version X]

What it does and why:
* sets meta.json (name ``newsbeam_ner``, lang ``xx``, version, sources and
  licences) and writes a README.md with provenance and a LICENSE, so the folder
  explains itself wherever it is copied;
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
VERSION = "0.3.0"
SOURCES = [
    {"name": "WikiANN (XTREME split)",
     "url": "https://github.com/davidsbatista/NER-datasets",
     "license": "CC BY-SA 3.0 (Wikipedia-derived silver labels)",
     "author": "Pan et al. 2017, Cross-lingual Name Tagging and Linking for 282 Languages, ACL"},
    {"name": "Europeana Newspapers NER corpora (KB nl, BnF fr, LFT/ONB/SBB de)",
     "url": "https://github.com/EuropeanaNewspapers/ner-corpora",
     "license": "CC0 1.0",
     "author": "Europeana Newspapers project"},
    {"name": "GermEval 2014 NER (dev and test files; de)",
     "url": "https://sites.google.com/site/germeval2014ner/",
     "license": "CC BY 4.0",
     "author": "Benikova et al. 2014, NoSta-D Named Entity Annotation for German, LREC"},
    {"name": "Wikigold (en)", "url": "https://figshare.com/articles/dataset/5462500",
     "license": "CC BY 4.0",
     "author": "Balasuriya et al. 2009, Named Entity Recognition in Wikipedia"},
    {"name": "GUM: academic, bio, court, interview, news, voyage (en)",
     "url": "https://github.com/amir-zeldes/gum",
     "license": "annotations CC BY 4.0; texts CC BY 4.0, CC BY 2.5 (Wikinews), CC BY-SA 3.0 (Wikipedia, Wikivoyage)",
     "author": "Zeldes 2017, The GUM Corpus, Language Resources and Evaluation"},
    {"name": "Universal NER: English EWT (dev, test), German PUD",
     "url": "https://www.universalner.org/",
     "license": "CC BY-SA 4.0 (EWT), CC BY-SA 3.0 (PUD)",
     "author": "Mayhew et al. 2024, Universal NER, NAACL"},
    {"name": "Legal Entity Recognition (German court decisions; 3,500 sentences)",
     "url": "https://github.com/elenanereiss/Legal-Entity-Recognition",
     "license": "CC BY 4.0",
     "author": "Leitner et al. 2019, Fine-grained Named Entity Recognition in Legal Documents"},
]
LICENSE = ("CC BY-SA 4.0 (WikiANN and Wikipedia-derived texts are CC BY-SA 3.0, UNER EWT CC BY-SA 4.0; "
           "other sources CC BY 4.0, CC BY 2.5 or CC0; see sources)")
CHECK_TEXTS = [
    "Oekraïne heeft nu ook de grens met Rusland bereikt, volgens Oleh Synjehoebov, "
    "meldt AP. “Zeker een tactische overwinning”, zegt Dick Zandee van het Clingendael-instituut.",
    "Emmanuel Macron a reçu à l’Élysée le chancelier Olaf Scholz et des représentants de l’OTAN.",
    "Angela Merkel sprach am Montag in Berlin mit Vertretern der Europäischen Union.",
    "Reuters reported that Microsoft will open an office in Amsterdam, said Satya Nadella.",
    "Het Kremlin reageerde op de Britse en Russische berichten.",
]
LICENSE_TEXT = """{title}: newsbeam's named-entity pipeline (the files in this folder)

Licence: Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0),
https://creativecommons.org/licenses/by-sa/4.0/legalcode

Why: the weights are trained on WikiANN (Wikipedia-derived, CC BY-SA 3.0, which allows adaptations under a
later version with the same licence elements), Universal NER English EWT (CC BY-SA 4.0) and German PUD
(CC BY-SA 3.0). The other training data are CC BY 4.0 (GermEval 2014, Wikigold, GUM annotations, Legal Entity
Recognition), CC BY 2.5 and CC BY-SA 3.0 (GUM texts from Wikinews, Wikipedia, Wikivoyage) and CC0 1.0
(Europeana Newspapers).

Attribution: Wikipedia contributors; Pan, Zhang, May, Nothman, Knight and Ji (2017), "Cross-lingual Name
Tagging and Linking for 282 Languages", ACL; Europeana Newspapers (KB, BnF, LFT, ONB, SBB); Benikova et al.
(2014), GermEval 2014; Balasuriya et al. (2009), Wikigold; Zeldes (2017), GUM; Mayhew et al. (2024),
Universal NER; Leitner et al. (2019), Legal Entity Recognition. README.md in this folder lists the data and
provenance.json their versions and checksums.

The code that trains and loads this pipeline (training/ner/, newsbeam/) is under Apache-2.0 (LICENSE at
the repository's root).
"""
README = """# {title} {version}

{scope} named-entity recognizer for newsbeam: labels
PER, ORG, LOC, MISC, following the news conventions of CoNLL-2002/2003
(nationalities, demonyms and language adjectives such as `Russische`,
`deutsche`, `américain` are MISC; the training data also tags a seat of
government standing for the government, `het Kremlin`, `the White House`, as
ORG, but the model still tags `Kremlin` LOC and now and then a demonym LOC;
newsbeam applies the conventions after the model, `newsbeam/transforms/enrich/
conventions.py`, and writes what that gives). A spaCy {spacy_version}
pipeline (`tok2vec` CNN with hash embeddings + transition-based `ner`), no word
vectors; load it with `spacy.load(path)`. It tokenises raw text itself (curly
quotes, hyphenated compounds and French elisions such as `l’Ukraine` are split).

## Training data and licences
Fine-tuned from newsbeam_ner 0.2.0 (WikiANN + Europeana, PER/ORG/LOC) on:
- hand-annotated gold, 80 % of each corpus by contiguous blocks (10 % dev,
  10 % held-out test): GermEval 2014 dev+test files (de, CC BY 4.0), Universal
  NER German PUD (CC BY-SA 3.0) and English EWT dev+test (CC BY-SA 4.0),
  Wikigold (en, CC BY 4.0), GUM academic/bio/court/interview/news/voyage (en;
  annotations CC BY 4.0, texts CC BY 4.0, CC BY 2.5, CC BY-SA 3.0);
- 3,500 sentences of German court decisions (Legal Entity Recognition,
  Leitner et al. 2019, CC BY 4.0);
- WikiANN (Pan et al. 2017, "Cross-lingual Name Tagging and Linking for 282
  Languages", ACL; Wikipedia-derived silver labels, XTREME split as
  redistributed by davidsbatista/NER-datasets), the first 10,000 train
  sentences of nl, en, fr, de; Wikipedia text is CC BY-SA 3.0;
- Europeana Newspapers NER corpora (KB nl, BnF fr, LFT/ONB/SBB de), CC0 1.0,
  the same 80 % positional train split as 0.2.0.
Every corpus is relabelled to the conventions above by curated word lists
(`training/ner/conventions.py`). The model folder is under CC BY-SA 4.0.

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
    kept = [s for s in json.loads(strings.read_text(encoding="utf-8")) if s in ("PER", "ORG", "LOC", "MISC")]
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
        "description": f"{scope} PER/ORG/LOC/MISC NER for newsbeam news text "
                       "(CoNLL conventions: nationalities and demonyms MISC).",
        "license": LICENSE,
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
    (dest / "LICENSE").write_text(LICENSE_TEXT.format(title=title), encoding="utf-8")

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
