"""Benchmark: spaCy's `nlp.pipe` under the allocator settings a Dask worker gets, and under newsbeam's.

Dask's nanny starts its workers with `MALLOC_TRIM_THRESHOLD_=65536`, which also freezes glibc's mmap
threshold at 128 KiB. Each run is a child process with that environment that runs bare `nlp.pipe` (the model
`newsbeam models` names for English) over the same texts, either as it is (`dask default`) or after
`memory.pin_on_dask_worker()` (`newsbeam pins`), what `--runner dask` does on every worker. The two alternate,
`--repeat` times each; the figure is the child's CPU seconds in `nlp.pipe`.

    python benchmarks/dask_allocator.py /work/shared/data/corpora/reuters21578.jsonl --articles 1200 --repeat 3
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import corpus_parser, record_result, take_articles  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
PIPE = """
import json, sys, time
if sys.argv[2] == "pin":
    from newsbeam.pipelines.memory import pin_on_dask_worker
    pin_on_dask_worker()
from newsbeam.transforms.enrich.registry import ModelRegistry
nlp = ModelRegistry().resolve_all()["en"].load()
texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
started = time.process_time()
entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=32))
print(json.dumps({"entities": entities, "cpu_seconds": round(time.process_time() - started, 2)}))
"""
SETTINGS = {"dask default": "as-is", "newsbeam pins": "pin"}


def main() -> None:
    parser = corpus_parser(__doc__, HERE / "results" / "dask_allocator.jsonl", articles=1200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each setting, alternating")
    args = parser.parse_args()

    environment = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nanny sets
    environment.pop("MALLOC_MMAP_THRESHOLD_", None)
    runs: dict[str, list] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as folder:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(folder) / "corpus.jsonl")
        for _ in range(args.repeat):
            for name, mode in SETTINGS.items():
                done = subprocess.run([sys.executable, "-c", PIPE, str(subset), mode], env=environment,
                                      capture_output=True, text=True, check=True)  # fmt: skip
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    cpu = {name: [run["cpu_seconds"] for run in values] for name, values in runs.items()}
    result = record_result(args.results, "dask_allocator", {
        "label": args.label,
        "articles": args.articles,
        "entities": {name: sorted({run["entities"] for run in values}) for name, values in runs.items()},
        "cpu_seconds": cpu,
        "pinned_over_default": round(sum(cpu["newsbeam pins"]) / sum(cpu["dask default"]), 3),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
