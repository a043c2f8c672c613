"""Benchmark: where a `--runner dask` ingest spends its workers' time, stage by stage, from Dask's task stream.

Starts a `dask scheduler` and N one-thread `dask worker` processes on 127.0.0.1 (as `dask_scaling.py` does),
records the scheduler's task stream during one `newsbeam ingest --runner dask` of the first N articles, and
reports per stage (a fused Dask task is named after its Beam transforms): how many tasks, their summed
compute seconds, and when the stage started and ended relative to the ingest's launch. Run it with
`PYTHONPATH` pointing at another checkout to compare versions.

    python benchmarks/dask_stages.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000 --workers 1
"""

from __future__ import annotations

import collections
import json
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import corpus_parser, record_result, run_ingest, take_articles  # noqa: E402
from dask_scaling import DaskCluster  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
# Stages by the transform a task's name starts with; tasks of other transforms count as "other".
STAGES = {
    "read and normalise": ("beam-Read-", "beam-Normalise-", "beam-CommittedIds-", "from_sequence-beam-Read"),
    "deduplicate": ("beam-Deduplicate-",),
    "language detection": ("beam-Language-",),
    "NER": ("beam-Enrich-Entities-",),
    "places": ("beam-Enrich-Places-",),
    "sentiment": ("beam-Enrich-Sentiment-",),
    "write": ("beam-WriteArticles-", "beam-WriteErrors-"),
}


def stage_of(key) -> str:
    name = key[0] if isinstance(key, tuple) else str(key)
    return next((stage for stage, prefixes in STAGES.items() if name.startswith(prefixes)), "other")


def stage_times(stream: list[dict], launched: float) -> dict:
    """Per stage: tasks, summed compute seconds, first start and last end (seconds after `launched`)."""
    stages = collections.defaultdict(lambda: {"tasks": 0, "compute_seconds": 0.0, "start": None, "end": None})
    for task in stream:
        stage = stages[stage_of(task["key"])]
        for period in task["startstops"]:
            if period["action"] != "compute":
                continue
            stage["tasks"] += 1
            stage["compute_seconds"] += period["stop"] - period["start"]
            start, end = period["start"] - launched, period["stop"] - launched
            stage["start"] = start if stage["start"] is None else min(stage["start"], start)
            stage["end"] = end if stage["end"] is None else max(stage["end"], end)
    return {name: {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}
            for name, values in sorted(stages.items(), key=lambda item: item[1]["start"] or 0.0)}  # fmt: skip


def main() -> None:
    parser = corpus_parser(__doc__, HERE / "results" / "dask_stages.jsonl", articles=3000)
    parser.add_argument("--workers", type=int, default=1, help="Dask worker processes, one thread each")
    args = parser.parse_args()

    from distributed import Client

    with tempfile.TemporaryDirectory() as folder:
        work = pathlib.Path(folder)
        subset = take_articles(args.corpus, args.articles, work / "corpus.jsonl")
        cluster = DaskCluster(args.workers, work)
        try:
            cluster.wait_for_workers()
            with Client(cluster.address) as client:
                client.get_task_stream()  # the scheduler records the stream from now on
                launched = time.time()
                run, summary = run_ingest(subset, work / "out", [],
                                          ["--runner", "dask", f"--dask_client_address={cluster.address}"])  # fmt: skip
                stream = client.get_task_stream(start=launched)
        finally:
            cluster.stop()

    result = record_result(args.results, "dask_stages", {
        "label": args.label,
        "articles": args.articles,
        "workers": args.workers,
        "ingest_seconds": run["seconds"],
        "written": summary["totals"]["written"],
        "stages": stage_times(stream, launched),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
