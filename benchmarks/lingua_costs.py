"""Benchmark: what newsbeam's language detection costs per process and per article, and what cheaper settings give.

Each configuration runs in its own child process: build time and resident memory of the lingua detector,
then `LanguageDetector.detect` (newsbeam's policy: prefix, refinement, `und` threshold) over the same texts as
`DetectLanguage` passes (cleaned title + text). Labels are compared with the current default
(`LanguageDetector()`). Accuracy on short texts is in
`language_detection.md`; this measures cost and agreement on whole news articles.

    python benchmarks/lingua_costs.py /work/shared/data/corpora/reuters21578.jsonl --articles 2000
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_child, take_articles  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

# Labels name every option explicitly: the default changed on 2026-11-26 (results before then say "default"
# for high accuracy over 2,000 characters).
CONFIGS = {
    "newsbeam default (low accuracy, short or word-poor samples refined, 1000 chars)": {},
    "high accuracy for all, 51 languages, 1000 chars": {"accurate_below": None},
    "high accuracy for all, 51 languages, 500 chars": {"accurate_below": None, "max_chars": 500},
    "low accuracy only, 51 languages, 1000 chars": {"low_accuracy": True},
    "low accuracy only, 51 languages, 500 chars": {"low_accuracy": True, "max_chars": 500},
    "high accuracy for all, 20 core languages, 1000 chars": {"languages": "CORE", "accurate_below": None},
}

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from newsbeam.transforms.normalise import language
from newsbeam.transforms.normalise.text import clean_text, single_line, title_and_text
kwargs = json.loads(sys.argv[2])
if kwargs.get("languages") == "CORE":
    kwargs["languages"] = language.CORE_LANGUAGES
imported = time.perf_counter()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
detector = language.LanguageDetector(**kwargs)
detector.load()
built = time.perf_counter()
rss_built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
texts = []
for line in open(sys.argv[1], encoding="utf-8"):
    a = json.loads(line)
    texts.append(title_and_text({"title": single_line(a.get("title")), "text": clean_text(a["text"])}))
ready = time.perf_counter()
labels = [detector.detect(t)[0] for t in texts]
done = time.perf_counter()
print(json.dumps({"build_seconds": built - imported, "detect_seconds": done - ready,
                  "ms_per_article": 1000 * (done - ready) / len(texts),
                  "build_rss_mib": (rss_built - rss_before) / 1024, "labels": labels}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--results", default=str(HERE / "results" / "lingua_costs.jsonl"))
    args = parser.parse_args()

    rows = {}
    with tempfile.TemporaryDirectory() as work:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
        baseline = None
        for name, kwargs in CONFIGS.items():
            run = run_child([sys.executable, "-c", CHILD, str(subset), json.dumps(kwargs)])
            out = json.loads(run["stdout"].strip().splitlines()[-1])
            labels = out.pop("labels")
            baseline = baseline or labels
            agree = sum(a == b for a, b in zip(labels, baseline)) / len(labels)
            rows[name] = {**{k: round(v, 2) for k, v in out.items()}, "agreement_with_default": round(agree, 4),
                          "und": labels.count("und"), "en": labels.count("en"), "peak_rss_mib": run["peak_rss_mib"],
                          "cpu_seconds": run["cpu_seconds"], "seconds": run["seconds"], "load_before": run["load_before"]}  # fmt: skip
            print(f"{name:45} build {out['build_seconds']:6.1f}s {out['build_rss_mib']:6.0f} MiB  "
                  f"{out['ms_per_article']:6.2f} ms/article  agreement {agree:.2%}  load {run['load_before']}", flush=True)
    record_result(args.results, "lingua_costs", {"articles": args.articles, "configs": rows})


if __name__ == "__main__":
    main()
