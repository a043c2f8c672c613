"""Benchmark: how fast two workers could possibly be on this machine, whatever the pipeline around NER.

The `--direct_num_workers=2` target of #6 (0.7 x one bare spaCy run) is a question of CPU on two cores.
This measures its floor with no Beam at all, each as one child process tree (see `_measure.py`):
- `one bare spaCy`: `pipeline_vs_spacy.py`'s bare run over all texts (the denominator);
- `two bare halves`: two such processes over alternate texts, started together (perfect parallel NER);
- `two bare halves + detection (MODE)`: the same, with a third process detecting the language of every
  text as the pipeline's helper does (lingua on one thread, batches of 64, `DETECTION_MODES[MODE]`).
A pipeline that detects languages the way MODE does cannot beat the third line on this machine.

    python benchmarks/two_worker_floor.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_child, take_articles, without_output  # noqa: E402
from pipeline_vs_spacy import BARE_SPACY, ner_texts  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
DETECT = """
import json, sys
from newsbeam.transforms.normalise.language import DETECTION_MODES, LanguageDetector
texts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
detector = LanguageDetector(**DETECTION_MODES[sys.argv[2]])
codes = []
for start in range(0, len(texts), 64):
    batch = texts[start:start + 64]
    codes += [code for code, _ in detector.detect_many(batch, [None] * len(batch))]
print(json.dumps({"en": codes.count("en"), "texts": len(codes)}))
"""
# Starts the given commands together and waits for them all: one measured child for the whole set.
TOGETHER = """
import json, subprocess, sys
processes = [subprocess.Popen(command, stdout=subprocess.PIPE) for command in json.loads(sys.argv[1])]
outputs = [process.communicate()[0].decode() for process in processes]
if any(process.returncode for process in processes):
    sys.exit(1)
print(json.dumps(outputs))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="JSON Lines corpus (e.g. reuters21578.jsonl)")
    parser.add_argument("--articles", type=int, default=3000, help="first N articles")
    parser.add_argument("--mode", action="append", default=[], help="detection modes to add (default: refined, fast)")
    parser.add_argument("--label", default="", help="free text stored with the result")
    parser.add_argument("--results", default=str(HERE / "results" / "two_worker_floor.jsonl"), help="append results here")
    args = parser.parse_args()
    python = sys.executable

    with tempfile.TemporaryDirectory() as work:
        folder = pathlib.Path(work)
        texts = folder / "texts.jsonl"
        ner_texts(take_articles(args.corpus, args.articles, folder / "corpus.jsonl"), texts)
        lines = texts.read_text(encoding="utf-8").splitlines(keepends=True)
        halves = [folder / "half0.jsonl", folder / "half1.jsonl"]
        for number, half in enumerate(halves):
            half.write_text("".join(lines[number::2]), encoding="utf-8")
        bare_halves = [[python, "-c", BARE_SPACY, str(half)] for half in halves]
        runs = {"one bare spaCy": [python, "-c", BARE_SPACY, str(texts)],
                "two bare halves": [python, "-c", TOGETHER, json.dumps(bare_halves)]}  # fmt: skip
        for mode in args.mode or ["refined", "fast"]:
            detect = [python, "-c", DETECT, str(texts), mode]
            runs[f"two bare halves + detection ({mode})"] = [python, "-c", TOGETHER, json.dumps([*bare_halves, detect])]
        measured = {name: without_output(run_child(command, env={"RAYON_NUM_THREADS": "1"})) for name, command in runs.items()}

    baseline = measured["one bare spaCy"]["seconds"]
    result = record_result(args.results, "two_worker_floor", {
        "label": args.label,
        "articles": args.articles,
        "runs": {name: {**run, "ratio_wall": round(run["seconds"] / baseline, 3)} for name, run in measured.items()},
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
