"""Benchmark: the whole `newsbeam ingest` against bare spaCy `nlp.pipe` on the same texts with the same model.

Both run as child processes of this script, one after the other in the same session, so wall time and
peak resident memory (from wait4's rusage) are measured the same way. The ratio is what we track.

    python benchmarks/pipeline_vs_spacy.py ../shared/data/corpora/reuters21578.jsonl --articles 1000 \
        [--beam-arg=--direct_num_workers=2 --beam-arg=--direct_running_mode=multi_processing]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
BARE_SPACY = """
import json, sys, time
from newsbeam.transforms.enrich.registry import ModelRegistry
from newsbeam.transforms.enrich.ner import ner_input
started = time.perf_counter()
spec = ModelRegistry().resolve("en")
nlp = spec.load(exclude=("parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer"))
loaded = time.perf_counter()
articles = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts = [ner_input({"title": a.get("title"), "text": a["text"]}) for a in articles]
entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=64))
print(json.dumps({"model": spec.label, "load_seconds": loaded - started, "pipe_seconds": time.perf_counter() - loaded,
                  "entities": entities}))
"""


def run_child(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of a child, using wait4 so the memory is that child's own."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Drain both pipes without deadlock, then reap with wait4 to get this child's own rusage.
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(process.stderr.read()))
    reader.start()
    out = process.stdout.read()
    reader.join()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{err_chunks[0].decode()[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="JSON Lines corpus (e.g. reuters21578.jsonl)")
    parser.add_argument("--articles", type=int, default=1000, help="first N articles")
    parser.add_argument("--beam-arg", action="append", default=[], help="extra Beam option for the pipeline run")
    parser.add_argument("--results", default=str(HERE / "results" / "pipeline_vs_spacy.jsonl"), help="append results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        subset = pathlib.Path(work) / "corpus.jsonl"
        with open(args.corpus, encoding="utf-8") as source, open(subset, "w", encoding="utf-8") as target:
            for number, line in enumerate(source):
                if number >= args.articles:
                    break
                target.write(line)
        bare_seconds, bare_rss, bare_out = run_child([sys.executable, "-c", BARE_SPACY, str(subset)])
        bare = json.loads(bare_out)
        pipeline_cmd = [sys.executable, "-m", "newsbeam.cli", "ingest", "--source", str(subset),
                        "--output", str(pathlib.Path(work) / "out"), *args.beam_arg]  # fmt: skip
        pipe_seconds, pipe_rss, _ = run_child(pipeline_cmd)
        (summary_path,) = (pathlib.Path(work) / "out" / "_runs").glob("*.json")
        summary = json.loads(summary_path.read_text())

    result = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "articles": args.articles,
        "beam_args": args.beam_arg,
        "model": bare["model"],
        "bare_spacy_seconds": round(bare_seconds, 2),
        "bare_spacy_pipe_seconds": round(bare["pipe_seconds"], 2),
        "bare_spacy_peak_rss_mib": round(bare_rss),
        "pipeline_seconds": round(pipe_seconds, 2),
        "pipeline_peak_rss_mib": round(pipe_rss),
        "ratio_wall": round(pipe_seconds / bare_seconds, 3),
        "ratio_peak_rss": round(pipe_rss / bare_rss, 3),
        "written": summary["totals"]["written"],
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    pathlib.Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
