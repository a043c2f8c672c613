"""Benchmark: peak memory of `newsbeam ingest` as the input grows (target: 1,000 vs 10,000 articles within 25%).

Each size runs as a child process, one after the other; memory is the peak of the whole process tree
(see `_measure.py`), so Beam's multi_processing workers count too.

    python benchmarks/memory_scaling.py /work/shared/data/corpora/reuters21578.jsonl --articles 1000 --articles 10000 \
        [--beam-arg=--direct_num_workers=2 --beam-arg=--direct_running_mode=multi_processing]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_ingest, take_articles, without_output  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--articles", type=int, action="append", default=[])
    parser.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL")
    parser.add_argument("--beam-arg", action="append", default=[])
    parser.add_argument("--label", default="")
    parser.add_argument("--results", default=str(HERE / "results" / "memory_scaling.jsonl"))
    args = parser.parse_args()
    sizes = args.articles or [1000, 10000]

    runs = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as work:
            subset = take_articles(args.corpus, size, pathlib.Path(work) / "corpus.jsonl")
            output = pathlib.Path(work) / "out"
            run, summary = run_ingest(subset, output, args.ner_model, args.beam_arg)
        runs[str(size)] = {**without_output(run), "written": summary["totals"]["written"]}
        print(f"{size:>6} articles: {run['seconds']:7.1f}s wall, cpu {run['cpu_seconds']}s, peak tree PSS "
              f"{run['peak_tree_pss_mib']} MiB, RSS {run['peak_tree_rss_mib']} MiB, load {run['load_before']}", flush=True)
    small, large = runs[str(min(sizes))], runs[str(max(sizes))]
    result = record_result(args.results, "memory_scaling", {
        "label": args.label,
        "beam_args": args.beam_arg,
        "runs": runs,
        "ratio_peak_tree_pss_large_over_small": round(large["peak_tree_pss_mib"] / small["peak_tree_pss_mib"], 3),
        "ratio_peak_tree_rss_large_over_small": round(large["peak_tree_rss_mib"] / small["peak_tree_rss_mib"], 3),
    })
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
