"""Benchmark: where `newsbeam ingest` spends the time before (and until) records flow, from timestamps.

The parent starts a child Python that wraps a few newsbeam functions with timestamp probes and then calls
`newsbeam.cli.main` exactly as the `newsbeam` command does, on the default (in-process) runner, where the
probes see everything. Times are seconds since the parent started the child.

    python benchmarks/startup.py /work/shared/data/corpora/reuters21578.jsonl --articles 1000

Milestones (first occurrence unless stated):
  child_python_running    the child's first line ran (interpreter start)
  imports_done            newsbeam.cli + the ingest pipeline module (apache_beam, spacy, pyarrow, ...) imported
  pipeline_run_called     CLI checks, model resolution, lock, graph built; Beam's Pipeline.run entered
  read_first_source       ReadInput.process entered
  first_record_normalised normalise_record returned once
  last_record_normalised  (last occurrence)
  detector_process        start/end of starting the language detector's helper process (DetectLanguage's
                          setup); the helper builds lingua's models in the background, out of the probes' sight
  lingua_build            start/end of building a lingua detector in this process: only without a helper
                          (one core), or when a batch is retried here
  first_language_detected the first results are back from the helper (`_Detect._helper_result`)
  last_language_detected  (last occurrence)
  spacy_load              start/end of loading each spaCy pipeline (lazily, in the first batch)
  first_ner_batch         start/end of the first RunInference batch
  first_file_written      first Parquet partition file written
  exit                    the command returned
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_child, take_articles, without_output  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

CHILD = r"""
import time
_T0 = float(__import__("os").environ["BENCH_T0"])
events = []
def mark(name):
    events.append((name, round(time.time() - _T0, 3)))
mark("child_python_running")
import functools, json, sys
import newsbeam.cli
import newsbeam.pipelines.ingest
mark("imports_done")
import apache_beam as beam
from newsbeam.transforms.normalise import detect, detector_process, language, normalise
from newsbeam.transforms.enrich import ner, registry
from newsbeam.transforms.sources import read
from newsbeam.transforms.sink import parquet

def around(owner, attr, name, every=False):
    original = getattr(owner, attr)
    seen = []
    @functools.wraps(original)
    def wrapper(*a, **k):
        first = not seen
        if first or every:
            mark(name + ":start")
        result = original(*a, **k)
        if first or every:
            mark(name + ":end")
        seen.append(1)
        return result
    setattr(owner, attr, wrapper)

def first_and_last(owner, attr, first_name, last_name):
    original = getattr(owner, attr)
    state = {"n": 0}
    @functools.wraps(original)
    def wrapper(*a, **k):
        result = original(*a, **k)
        state["n"] += 1
        now = round(time.time() - _T0, 3)
        if state["n"] == 1:
            events.append((first_name, now))
        state["last"] = now
        return result
    setattr(owner, attr, wrapper)
    return state

around(beam.Pipeline, "run", "pipeline_run_called")
around(read.ReadInput, "process", "read_first_source")
around(detector_process.DetectorProcess, "__init__", "detector_process", every=True)
around(language, "_build", "lingua_build", every=True)
normalised = first_and_last(normalise, "normalise_record", "first_record_normalised", "last_record_normalised")
detected = first_and_last(detect._Detect, "_helper_result", "first_language_detected", "last_language_detected")
around(registry.ModelSpec, "load", "spacy_load", every=True)
around(ner.SpacyNERModelHandler, "run_inference", "first_ner_batch")
around(parquet, "write_atomically", "first_file_written")
code = newsbeam.cli.main(sys.argv[1:])
mark("exit")
if "last" in normalised:
    events.append(("last_record_normalised", normalised["last"]))
if "last" in detected:
    events.append(("last_language_detected", detected["last"]))
print(json.dumps({"code": code, "events": sorted(events, key=lambda e: e[1])}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL")
    parser.add_argument("--beam-arg", action="append", default=[])
    parser.add_argument("--label", default="")
    parser.add_argument("--results", default=str(HERE / "results" / "startup.jsonl"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
        command = [sys.executable, "-c", CHILD, "ingest", "--source", str(subset), "--output", str(pathlib.Path(work) / "out"),
                   *[f"--ner-model={m}" for m in args.ner_model], *args.beam_arg]  # fmt: skip
        t0 = time.time()
        run = run_child(command, env={"BENCH_T0": repr(t0)})
    child = json.loads(run["stdout"].strip().splitlines()[-1])
    result = record_result(args.results, "startup", {
        "label": args.label,
        "articles": args.articles,
        "beam_args": args.beam_arg,
        "events": child["events"],
        **without_output(run),
    })
    for name, at in child["events"]:
        print(f"{at:8.2f}s  {name}")
    print(json.dumps({k: v for k, v in result.items() if k != "events"}, indent=1))


if __name__ == "__main__":
    main()
