"""Benchmark: the script a user would write instead of newsbeam, and its ratio to `newsbeam ingest`.

The plain script: read the JSON Lines (or an RSS/Atom file with feedparser), run spaCy on each document with
`nlp(text)` in a loop, collect rows in pandas, write one Parquet file with `DataFrame.to_parquet`. Same
spaCy pipeline as the pipeline uses for English (`newsbeam models`), loaded the way a user would
(`spacy.load`, nothing excluded). It does none of newsbeam's other work (language detection, dates, clean-up,
dedup, sentiment, partitions, dead letters), so the ratio says what that work plus Beam costs.

    # only the plain script (needs pandas: pip install pandas)
    python benchmarks/plain_script.py run /work/shared/data/corpora/reuters21578.jsonl --articles 3000 --output /tmp/plain
    # plain script and `newsbeam ingest`, back to back as child processes, result appended to results/
    python benchmarks/plain_script.py compare /work/shared/data/corpora/reuters21578.jsonl --articles 3000
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import pipeline_fields, record_result, run_child, run_ingest, take_articles, without_output  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def plain(corpus: str, output: str, model: str) -> dict:
    """What a user would write. Imports inside so the child's timing includes them, as the pipeline's does."""
    started = time.perf_counter()
    import pandas as pd
    import spacy

    nlp = spacy.load(model)
    loaded = time.perf_counter()
    if corpus.endswith((".xml", ".rss", ".atom", ".rdf")):
        import feedparser

        feed = feedparser.parse(corpus)
        articles = [{"id": e.get("id"), "title": e.get("title"), "published": e.get("published"),
                     "text": e.get("summary", "")} for e in feed.entries]  # fmt: skip
    else:
        with open(corpus, encoding="utf-8") as handle:
            articles = [json.loads(line) for line in handle if line.strip()]
    rows = []
    for article in articles:
        text = f"{article.get('title') or ''}\n\n{article['text']}"
        doc = nlp(text)
        rows.append({
            "id": article.get("id"),
            "title": article.get("title"),
            "published": article.get("published"),
            "text": article["text"],
            "entities": [{"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char} for e in doc.ents],
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    pathlib.Path(output).mkdir(parents=True, exist_ok=True)
    frame.to_parquet(f"{output}/articles.parquet", index=False)
    return {"rows": len(frame), "load_seconds": round(loaded - started, 2),
            "work_seconds": round(time.perf_counter() - loaded, 2), "entities": int(sum(map(len, frame["entities"])))}  # fmt: skip


def english_model(overrides: list[str]) -> str:
    from newsbeam.transforms.enrich.registry import ModelRegistry, parse_overrides

    spec = ModelRegistry(parse_overrides(overrides)).resolve("en")
    if spec is None:
        raise SystemExit("no spaCy pipeline for English: `newsbeam models` lists none")
    return spec.resolved_path() if spec.path or spec.name == "newsbeam_ner" else spec.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("run", "compare"))
    parser.add_argument("corpus")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--output", help="run: output folder")
    parser.add_argument("--model", help="run: spaCy pipeline name or path (default: what newsbeam uses for English)")
    parser.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL")
    parser.add_argument("--beam-arg", action="append", default=[], help="compare: extra Beam option for the pipeline")
    parser.add_argument("--pandas-path", default="", help="compare: folder with pandas if it is not installed (PYTHONPATH)")
    parser.add_argument("--label", default="")
    parser.add_argument("--results", default=str(HERE / "results" / "plain_script.jsonl"))
    args = parser.parse_args()

    if args.mode == "run":
        model = args.model or english_model(args.ner_model)
        with tempfile.TemporaryDirectory() as work:
            subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
            print(json.dumps({"model": model, **plain(str(subset), args.output or str(pathlib.Path(work) / "out"), model)}))
        return

    model = english_model(args.ner_model)
    with tempfile.TemporaryDirectory() as work:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
        env = {"PYTHONPATH": args.pandas_path} if args.pandas_path else {}
        plain_run = run_child([sys.executable, __file__, "run", str(subset), "--articles", str(args.articles),
                               "--output", str(pathlib.Path(work) / "plain"), "--model", model], env=env)  # fmt: skip
        output = pathlib.Path(work) / "out"
        pipe_run, summary = run_ingest(subset, output, args.ner_model, args.beam_arg)
    result = record_result(args.results, "plain_script", {
        "label": args.label,
        "articles": args.articles,
        "beam_args": args.beam_arg,
        "model": model,
        "plain": {**without_output(plain_run), **json.loads(plain_run["stdout"].strip().splitlines()[-1])},
        "pipeline": pipeline_fields(pipe_run, summary),
        "ratio_wall_pipeline_over_plain": round(pipe_run["seconds"] / plain_run["seconds"], 3),
        "ratio_cpu_pipeline_over_plain": round(pipe_run["cpu_seconds"] / max(plain_run["cpu_seconds"], 0.1), 3),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
