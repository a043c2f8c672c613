"""News evaluation of NER pipelines side by side; writes EVALUATION.md and evaluation.json.

Usage:
    python training/ner/evaluate_news.py /work/shared/data/ner \
        --model candidate=training/ner/output/candidate \
        --model current=training/ner/output/model-0.2.0 \
        [--sample /work/shared/samples/000_49427d75354bfe23.txt] [--out-dir training/ner] \
        [--conform candidate]

Every ``--model NAME=PATH`` (our multilingual pipelines; the first is the one the
report is about, the second the one it would replace) and every official spaCy
pipeline installed here for nl/en/fr/de (``OFFICIAL``, found with
``spacy.util.is_package``; each only on its own language) is scored on:

* held-out gold test blocks (``prepare_gold.gold_sentences``, never trained on):
  GermEval 2014 (de), Wikigold and GUM (en) with PER/ORG/LOC/MISC, pooled per
  language, GUM's Wikinews documents also on their own; UNER PUD (de) and UNER
  EWT (en) with PER/ORG/LOC only (UNER has no MISC: MISC predictions are dropped);
* WikiANN test and the Europeana test blocks (``prepare.py``), PER/ORG/LOC as
  distributed (MISC predictions dropped; WikiANN's gold tags demonyms LOC, so a
  model that follows news conventions loses those);
* the reference article: names found with the right label (``--expected``),
  demonyms tagged LOC (``conventions.DEMONYMS``), spans that cross a sentence end;
* with ``--conform NAME``, that model's entities are scored as newsbeam writes
  them: after ``newsbeam.transforms.enrich.conventions.conform`` with the test
  set's language and the gazetteer's country names (the same path may be given
  twice, with and without);
* words per second on one core (``nlp.pipe``, best of alternating passes) on the
  same text, all models in one run.

All gold labels are brought to the news conventions by ``conventions.relabel``
(demonyms MISC, seats of government ORG) in the gold sets only; WikiANN and
Europeana test are scored as distributed.  Scores are entity-level, exact span
and label, on raw text: each sentence is rebuilt from its tokens and tokenised
by the model (``evaluate.py``'s raw-text protocol).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402

from newsbeam.transforms.enrich.conventions import conform  # noqa: E402
from newsbeam.transforms.enrich.gazetteer import load_gazetteer  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import conventions  # noqa: E402
import evaluate  # noqa: E402
import news_tokenizer  # noqa: E402
import prepare  # noqa: E402
import prepare_gold  # noqa: E402

FOUR = ("PER", "ORG", "LOC", "MISC")
THREE = ("PER", "ORG", "LOC")
OFFICIAL = [f"{lang}_core_{kind}_{size}" for lang, kind in
            (("en", "web"), ("de", "news"), ("nl", "news"), ("fr", "news"))
            for size in ("sm", "md", "lg")]
# test set: (title, {lang: [(source, name)]}, labels)
GOLD_SETS = {
    "gold": ("Held-out gold test blocks (GermEval; Wikigold + GUM)",
             {"de": ["germeval_de"], "en": ["wikigold_en", "gum_en"]}, FOUR),
    "gum_news": ("GUM Wikinews documents (inside the gold test blocks)",
                 {"en": ["gum_en:news"]}, FOUR),
    "uner": ("UNER test blocks (PUD de, EWT en), PER/ORG/LOC",
             {"de": ["uner_pud_de"], "en": ["uner_ewt_en"]}, THREE),
}
SENTENCE_END = re.compile(r"[.!?][\"”’»]?\s+\S|\n")
DATE_PREFIX = evaluate.DATE_PREFIX


def gum_news_test(data_dir):
    """GUM test-block sentences that come from its news (Wikinews) file."""
    news = {tuple(w) for w, _ in prepare_gold.read_iob(Path(data_dir) / "gold/gum_en/news.iob2")}
    return [(w, t) for w, t in prepare_gold.gold_sentences(data_dir, "gum_en", "test")
            if tuple(w) in news]


def gold_test_records(data_dir, source):
    """Records of one gold test source (``name`` or ``name:news``)."""
    if source == "gum_en:news":
        sentences = gum_news_test(data_dir)
    else:
        sentences = prepare_gold.gold_sentences(data_dir, source, "test")
    return [prepare.to_record(w, prepare.iob_spans(t)) for w, t in sentences]


def test_sets(data_dir, langs):
    """{(set, lang): (records, labels)} for every test set and language."""
    sets = {}
    for key, (_, by_lang, labels) in GOLD_SETS.items():
        for lang, sources in by_lang.items():
            if lang in langs:
                sets[key, lang] = ([r for s in sources for r in gold_test_records(data_dir, s)],
                                   labels)
    for lang in langs:
        sets["wikiann", lang] = (prepare.wikiann_records(data_dir, lang, "test"), THREE)
        if lang in prepare.EUROPEANA:
            sets["europeana", lang] = (prepare.europeana_records(data_dir, lang, "test"), THREE)
    return sets


def score(gold, pred, labels):
    """Overall and per-label P/R/F over ``labels`` (other predictions dropped)."""
    result = {"n_gold": sum(len(g) for g in gold)}
    for label in (None,) + labels:
        tp = fp = fn = 0
        for g, p in zip(gold, pred):
            g = {s for s in g if label in (None, s[2])}
            p = {s for s in p if s[2] in labels and label in (None, s[2])}
            tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
        result[label or "all"] = evaluate.prf(tp, fp, fn)
    return result


def entities(doc, lang, conformed):
    """The doc's entities, as newsbeam writes them when ``conformed``."""
    return conform(doc, lang, load_gazetteer().names_only_a_country) if conformed else list(doc.ents)


def predict(nlp, texts, lang, conformed):
    """Predicted (start, end, label) sets, using only the pipes NER needs."""
    with nlp.select_pipes(enable=[p for p in nlp.pipe_names if p in ("tok2vec", "ner")]):
        return [{(e.start_char, e.end_char, e.label_) for e in entities(doc, lang, conformed)}
                for doc in nlp.pipe(texts, batch_size=256)]


def check_sample(nlp, path, expected_path, demonyms, conformed):
    """The reference article (Dutch): expected names, demonyms tagged LOC, cross-sentence spans."""
    result = evaluate.check_sample(nlp, path, expected_path,
                                   ents=lambda doc: entities(doc, "nl", conformed))
    text = DATE_PREFIX.sub("", Path(path).read_text(encoding="utf-8"), count=1)
    ents = entities(nlp(text), "nl", conformed)
    result["demonyms_as_loc"] = sorted({e.text for e in ents if e.label_ == "LOC"
                                        and all(t.text in demonyms for t in e)})
    result["cross_sentence"] = sorted({e.text for e in ents if SENTENCE_END.search(e.text)})
    return result


def official_pipelines():
    """Names of the official spaCy pipelines for nl/en/fr/de installed here."""
    return [name for name in OFFICIAL if spacy.util.is_package(name)]


def pct(x):
    """A ratio as a percentage string."""
    return f"{100 * x:.1f}"


def set_title(key):
    """Heading of a test set."""
    titles = {k: v[0] for k, v in GOLD_SETS.items()}
    titles.update({"wikiann": "WikiANN test (10,000 sentences per language), PER/ORG/LOC as distributed",
                   "europeana": "Europeana Newspapers test blocks, PER/ORG/LOC"})
    return titles[key]


def markdown(report):
    """EVALUATION.md text from the report."""
    first, second = report["ours"][:2] if len(report["ours"]) > 1 else (report["ours"][0], None)
    meta = report["models"]
    out = ["# NER evaluation: `xx_newsbeam_ner`", "",
           "Generated by `training/ner/evaluate_news.py`; do not edit by hand.", "",
           "Models: " + "; ".join(f"**{n}** = `{m['name']}` {m['version']} ({m['size_mb']} MB)"
                                  for n, m in meta.items()) + ".", "",
           "Entity-level scores, exact span and label, on raw text (each test sentence is "
           "rebuilt from its tokens and tokenised by the model). Gold sets follow news "
           "conventions (`conventions.py`: nationalities/demonyms MISC, seats of government "
           "ORG); WikiANN and Europeana are scored as distributed on PER/ORG/LOC, other "
           "predicted labels dropped. Official spaCy pipelines are scored on their own "
           "language only. `–`: label not in the set."
           + (" Entities of " + ", ".join(f"**{n}**" for n in report.get("conform", []))
              + " are scored as newsbeam writes them, after its news conventions "
              "(`newsbeam/transforms/enrich/conventions.py`, with the test set's language)."
              if report.get("conform") else ""), ""]
    for key in report["set_order"]:
        rows = [(lang, model, s) for (k, lang), by_model in report["scores"].items() if k == key
                for model, s in by_model.items()]
        if not rows:
            continue
        labels = FOUR if any("MISC" in s for _, _, s in rows) else THREE
        out += [f"## {set_title(key)}", "",
                "| lang | model | gold | P | R | F | " + " | ".join(f"F {x}" for x in labels) + " |",
                "| --- | --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in labels) + " |"]
        for lang, model, s in rows:
            out.append(f"| {lang} | {model} | {s['n_gold']} | {pct(s['all']['p'])} | "
                       f"{pct(s['all']['r'])} | {pct(s['all']['f'])} | "
                       + " | ".join(pct(s[x]['f']) if x in s else "–" for x in labels) + " |")
        out.append("")
    if second:
        out += [f"## {first} against {second}", "", f"| test set | lang | {second} | {first} | change |",
                "| --- | --- | ---: | ---: | ---: |"]
        for (key, lang), by_model in report["scores"].items():
            a, b = by_model[second]["all"]["f"], by_model[first]["all"]["f"]
            out.append(f"| {key} | {lang} | {pct(a)} | {pct(b)} | {100 * (b - a):+.1f} |")
            if "ORG" in by_model[first]:
                a, b = by_model[second]["ORG"]["f"], by_model[first]["ORG"]["f"]
                out.append(f"| {key} ORG | {lang} | {pct(a)} | {pct(b)} | {100 * (b - a):+.1f} |")
        out.append("")
    if report.get("sample"):
        out += [f"## Reference article `{report['sample_path']}`", "",
                "| model | names found | right label | demonyms as LOC | spans across a sentence end | spurious |",
                "| --- | ---: | ---: | --- | --- | ---: |"]
        for model, s in report["sample"].items():
            out.append(f"| {model} | {s['n_found']} of {s['n_names']} | {s['n_right_label']} | "
                       f"{', '.join(s['demonyms_as_loc']) or 'none'} | "
                       f"{', '.join(s['cross_sentence']) or 'none'} | {len(s['spurious'])} |")
        out += ["", "| name | expected | " + " | ".join(report["sample"]) + " |",
                "| --- | --- | " + " | ".join("---" for _ in report["sample"]) + " |"]
        names = next(iter(report["sample"].values()))["names"]
        for i, name in enumerate(names):
            cells = [", ".join(f"{k}×{v}" for k, v in s["names"][i]["labels"].items()) or "**missed**"
                     for s in report["sample"].values()]
            out.append(f"| {name['name']} | {name['expected']} | " + " | ".join(cells) + " |")
        out.append("")
        for model, s in report["sample"].items():
            out += [f"All entities of {model}: " + ", ".join(
                f"{e['text']} {e['label']}×{e['count']}" for e in s["entities"]), ""]
    out += [f"## Speed, one core, `nlp.pipe` batch 256, same text ({report['speed_words']} "
            "words: Europeana FR test), best of 5 alternating passes", "",
            "| model | words/s |", "| --- | ---: |"]
    out += [f"| {n} | {w} |" for n, w in report["words_per_second"].items()]
    out += ["", "## Command", "", "```", report["command"], "```", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="one of our pipelines; the first is reported on, the second is the baseline")
    parser.add_argument("--sample", help="the reference article")
    parser.add_argument("--expected", default=str(HERE / "reference_000.json"))
    parser.add_argument("--official", nargs="*", help="official pipelines (default: all installed)")
    parser.add_argument("--langs", nargs="+", default=list(prepare.LANGS), choices=prepare.LANGS)
    parser.add_argument("--out-dir", default=str(HERE))
    parser.add_argument("--sets", nargs="+", help="only these test sets (e.g. gold uner), no speed run")
    parser.add_argument("--conform", nargs="*", default=[], metavar="NAME",
                        help="models whose entities go through newsbeam's news conventions, as in the product")
    args = parser.parse_args()

    ours = dict(m.split("=", 1) for m in args.model)
    official = official_pipelines() if args.official is None else args.official
    pipelines = {name: spacy.load(path) for name, path in ours.items()}
    pipelines.update({name: spacy.load(name) for name in official})
    models = {n: {"name": p.meta["name"] if n in ours else n, "version": p.meta["version"], "lang": p.meta["lang"],
                  "size_mb": round(sum(f.stat().st_size for f in Path(ours.get(n) or
                                   spacy.util.get_package_path(n)).rglob("*") if f.is_file()) / 1e6, 1)}
              for n, p in pipelines.items()}
    tokenizer_nlp = news_tokenizer.blank()
    report = {"ours": list(ours), "models": models, "scores": {}, "conform": args.conform,
              "set_order": list(GOLD_SETS) + ["wikiann", "europeana"]}
    sets = {k: v for k, v in test_sets(args.data_dir, args.langs).items()
            if not args.sets or k[0] in args.sets}
    for (key, lang), (records, labels) in sets.items():
        texts, gold = evaluate.gold_sets(tokenizer_nlp, records)
        by_model = {}
        for name, nlp in pipelines.items():
            if models[name]["lang"] not in ("xx", lang):
                continue
            by_model[name] = score(gold, predict(nlp, texts, lang, name in args.conform), labels)
            print(key, lang, name, by_model[name]["all"], flush=True)
        report["scores"][key, lang] = by_model
    if args.sample:
        report["sample_path"] = Path(args.sample).name
        demonyms = set().union(*conventions.DEMONYMS.values())
        report["sample"] = {n: check_sample(pipelines[n], args.sample, args.expected, demonyms,
                                            n in args.conform) for n in ours}
    if args.sets:
        print(json.dumps(report.get("sample"), ensure_ascii=False)[:3000])
        return
    speed_texts = [r["text"] for r in prepare.europeana_records(args.data_dir, "fr", "test")]
    report["speed_words"] = sum(len(t.split()) for t in speed_texts)
    speed = {n: (p, None) for n, p in pipelines.items() if n in ours or models[n]["lang"] == "fr"}
    speed.update({f"{n} (tok2vec+ner only)": (pipelines[n], ["tok2vec", "ner"])
                  for n in official if models[n]["lang"] == "fr"})
    speed.update({f"{n} (as newsbeam writes it)": (pipelines[n], None, lambda doc: entities(doc, "fr", True))
                  for n in args.conform})
    report["words_per_second"] = evaluate.words_per_second(speed, speed_texts)
    print(report["words_per_second"], flush=True)
    report["command"] = "python " + " ".join([str(Path(__file__).relative_to(REPO))] + sys.argv[1:])
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    serialisable = dict(report, scores={f"{k}/{lang}": v for (k, lang), v in report["scores"].items()})
    (out / "evaluation.json").write_text(json.dumps(serialisable, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (out / "EVALUATION.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {out / 'EVALUATION.md'} and {out / 'evaluation.json'}")


if __name__ == "__main__":
    main()
