"""Benchmark: where `newsbeam ingest` spends its time, by stage, from a pyinstrument profile of one run.

The run uses the default in-process runner (Beam's FnApiRunner, in_memory mode): the pipeline's bundles
execute in the profiled thread, so one profile sees the CLI, Beam and every transform. Each sample's time is
given to the innermost frame on its stack that belongs to a known stage (e.g. everything below
`language.py` is language detection, lingua included; Beam's coders below its runner are "coders"), so the
categories add up to the profiled wall time. lingua itself runs in the detector's helper process, which
the profile does not see: what the main process spends on detection is sending batches and waiting for
results. Needs `pip install pyinstrument` (benchmarks only).

    python benchmarks/profile_stages.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000
    # the same articles as one RSS 2.0 file (feed parsing instead of JSON Lines)
    python benchmarks/profile_stages.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000 --as-rss

Writes a JSON line to results/profile_stages.jsonl and the pyinstrument text tree to results/profile-<N>.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import pickle
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_child, take_articles, without_output  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

# (path substring, function name or None, category); the first rule matching a frame names its category.
RULES = [
    ("newsbeam/transforms/normalise/language.py", "_build", "startup: lingua detector build"),
    ("newsbeam/transforms/normalise/language.py", None, "language detection (lingua)"),
    ("newsbeam/transforms/normalise/detect.py", "_helper_result", "language detection: waiting for the helper process"),
    ("newsbeam/transforms/normalise/detector_process.py", None, "language detection: helper process I/O"),
    ("newsbeam/transforms/enrich/registry.py", "load", "startup: spaCy pipeline load"),
    ("newsbeam/transforms/enrich/ner.py", "spans_to_entities", "NER: spans to entity structs"),
    ("spacy/", None, "NER: spaCy nlp.pipe"),
    ("thinc/", None, "NER: spaCy nlp.pipe"),
    ("newsbeam/transforms/enrich/ner.py", None, "NER: newsbeam handler code (inputs, batching by language, attach)"),
    ("newsbeam/transforms/enrich/sentiment.py", None, "sentiment"),
    ("newsbeam/transforms/enrich/enrich.py", None, "sentiment"),
    ("newsbeam/transforms/normalise/dates.py", None, "dates"),
    ("newsbeam/transforms/normalise/text.py", None, "text clean-up / HTML"),
    ("newsbeam/transforms/normalise/urls.py", None, "URLs and ids"),
    ("newsbeam/transforms/normalise/identity.py", None, "URLs and ids"),
    ("newsbeam/transforms/normalise/normalise.py", None, "normalise: other"),
    ("newsbeam/transforms/normalise/dedup.py", None, "deduplicate"),
    ("newsbeam/transforms/normalise/seen.py", None, "committed ids"),
    ("newsbeam/transforms/sources/feeds.py", None, "feed parsing"),
    ("newsbeam/transforms/sources/encoding.py", None, "feed parsing"),
    ("newsbeam/transforms/sources/articles.py", None, "article files (JSON Lines, text, HTML)"),
    ("newsbeam/transforms/sources/", None, "sources: other"),
    ("newsbeam/transforms/sink/parquet.py", None, "Parquet writing"),
    ("newsbeam/transforms/sink/", None, "run counts, feed states"),
    ("newsbeam/pipelines/ingest.py", None, "pipeline lambdas (counts, run id)"),
    ("newsbeam/pipelines/lock.py", None, "lock"),
    ("apache_beam/ml/inference", None, "Beam: RunInference / BatchElements"),
    ("apache_beam/transforms/util.py", None, "Beam: BatchElements, Reshuffle utils"),
    ("apache_beam/coders", None, "Beam: coders (encode/decode at stage boundaries)"),
    ("apache_beam/runners/portability/fn_api_runner", None, "Beam: FnApiRunner (buffers, GBK, scheduling)"),
    ("apache_beam/runners/worker", None, "Beam: bundle execution (operations, DoFn calls)"),
    ("apache_beam/runners/common", None, "Beam: bundle execution (operations, DoFn calls)"),
    ("apache_beam/internal", None, "Beam: pickling"),
    ("cloudpickle", None, "Beam: pickling"),
    ("dill", None, "Beam: pickling"),
    ("apache_beam/", None, "Beam: other (graph, options, transforms)"),
    ("<frozen importlib", None, "imports"),
    ("importlib/", None, "imports"),
    ("newsbeam/cli.py", None, "CLI"),
]

CHILD = r"""
import json, pickle, sys
from pyinstrument import Profiler
profiler = Profiler(interval=0.002)
profiler.start()
import newsbeam.cli
code = newsbeam.cli.main(sys.argv[2:])
recording = profiler.stop()
with open(sys.argv[1], "wb") as handle:
    pickle.dump(recording, handle)
print(json.dumps({"code": code}))
"""


# Everything below these frames stays in their category (spaCy's load imports and builds thinc models).
STICKY = ("startup: lingua detector build", "startup: spaCy pipeline load", "imports")


def to_rss(subset: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """The articles as one RSS 2.0 feed: guid = id, pubDate in RFC 822 when the corpus date parses, text as HTML."""
    import email.utils
    import html

    items = []
    for line in open(subset, encoding="utf-8"):
        article = json.loads(line)
        published = article.get("published") or ""
        try:
            moment = dt.datetime.strptime(published.strip(), "%d-%b-%Y %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
            published = email.utils.format_datetime(moment)
        except ValueError:
            pass
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article["text"].split("\n    ") if p.strip())
        items.append(
            f"<item><title>{html.escape(article.get('title') or '')}</title>"
            f"<guid isPermaLink=\"false\">{html.escape(str(article['id']))}</guid>"
            f"<pubDate>{html.escape(published)}</pubDate><description>{html.escape(body)}</description></item>"
        )
    target.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>benchmark feed</title>'
        f"<link>https://example.org/</link>{''.join(items)}</channel></rss>",
        encoding="utf-8",
    )
    return target


def categorise(frame) -> str | None:
    path = (frame.file_path or "").replace("\\", "/")
    for fragment, function, category in RULES:
        if fragment in path and (function is None or frame.function == function):
            return category
    return None


def breakdown(profile_path: str) -> tuple[dict, float, str, dict]:
    from pyinstrument.renderers import ConsoleRenderer

    with open(profile_path, "rb") as handle:  # the recording `Profiler.stop()` returned in the child
        recording = pickle.load(handle)
    root = recording.root_frame(trim_stem=False)
    totals: dict[str, float] = {}
    top_functions: dict[str, float] = {}

    def walk(frame, inherited: str | None):
        category = inherited if inherited in STICKY else (categorise(frame) or inherited)
        own = frame.total_self_time  # includes the synthetic [self] children, which are not walked
        totals[category or "other"] = totals.get(category or "other", 0.0) + own
        if own:
            key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
            top_functions[key] = top_functions.get(key, 0.0) + own
        for child in frame.children:
            if not child.is_synthetic:
                walk(child, category)

    walk(root, None)
    text = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False, time="seconds").render(recording)
    top = dict(sorted(top_functions.items(), key=lambda kv: -kv[1])[:40])
    return totals, sum(totals.values()), text, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL")
    parser.add_argument("--as-rss", action="store_true", help="feed the articles as one RSS file instead of JSON Lines")
    parser.add_argument("--label", default="")
    parser.add_argument("--results", default=str(HERE / "results" / "profile_stages.jsonl"))
    parser.add_argument("--tree", default=None, help="pyinstrument text tree (default results/profile-<N>.txt)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
        if args.as_rss:
            subset = to_rss(subset, pathlib.Path(work) / "corpus.rss")
        profile_path = str(pathlib.Path(work) / "stages.profile.pickle")
        command = [sys.executable, "-c", CHILD, profile_path, "ingest", "--source", str(subset),
                   "--output", str(pathlib.Path(work) / "out"), *[f"--ner-model={m}" for m in args.ner_model]]  # fmt: skip
        run = run_child(command)
        totals, profiled, text, top = breakdown(profile_path)

    profiled = sum(totals.values())
    ner = sum(v for k, v in totals.items() if k.startswith("NER: spaCy"))
    result = record_result(args.results, "profile_stages", {
        "label": args.label,
        "articles": args.articles,
        "input": "rss" if args.as_rss else "jsonl",
        "profiled_seconds": round(profiled, 2),
        "ner_seconds": round(ner, 2),
        "categories": {k: round(v, 2) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])},
        "categories_share": {k: round(v / profiled, 4) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])},
        "top_self_time": {k: round(v, 2) for k, v in top.items()},
        **without_output(run),
    })
    tree = pathlib.Path(args.tree or HERE / "results" / f"profile-{args.articles}{'-rss' if args.as_rss else ''}.txt")
    tree.write_text(text, encoding="utf-8")
    print(f"{'category':55} {'seconds':>8} {'share':>6}")
    for category, seconds in result["categories"].items():
        print(f"{category:55} {seconds:8.2f} {seconds / profiled:6.1%}")
    print(f"profiled {profiled:.1f}s of {run['seconds']}s wall, cpu {run['cpu_seconds']}s, load {run['load_before']} -> "
          f"{run['load_after']}; tree in {tree}")


if __name__ == "__main__":
    main()
