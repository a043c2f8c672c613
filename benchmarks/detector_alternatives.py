"""Benchmark: newsbeam's language detector against py3langid on article-length news text.

Would a fast numpy detector do lingua's low-accuracy first pass? Europeana pseudo-articles (300 random runs
of 300 tokens per language from the Europeana Newspapers files) and the first Reuters articles, scored by
both; accuracy per language and CPU seconds. py3langid is not a newsbeam dependency: install it into a
separate folder and pass it with --py3langid-path.

    pip install --no-deps --target /tmp/py3langid py3langid==0.4.0
    python benchmarks/detector_alternatives.py /work/shared/data/ner/europeana \\
        /work/shared/data/corpora/reuters21578.jsonl --py3langid-path /tmp/py3langid
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import random
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result  # noqa: E402

from newsbeam.transforms.normalise.language import LanguageDetector, _prefix  # noqa: E402
from newsbeam.transforms.normalise.text import clean_text, single_line, title_and_text  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
EUROPEANA = {"nl": ["enp_NL.kb.bio"], "fr": ["enp_FR.bnf.bio"], "de": ["enp_DE.lft.bio", "enp_DE.onb.bio", "enp_DE.sbb.bio"]}


def europeana_docs(folder: pathlib.Path, per_language: int, rng: random.Random) -> list[tuple[str, str]]:
    docs = []
    for language, files in EUROPEANA.items():
        words = [line.split()[0] for name in files for line in (folder / name).open(encoding="utf-8") if line.split()]
        for _ in range(per_language):
            start = rng.randrange(len(words) - 400)
            docs.append((language, " ".join(words[start : start + 300])))
    return docs


def reuters_docs(path: pathlib.Path, count: int) -> list[tuple[str, str]]:
    docs = []
    with path.open(encoding="utf-8") as lines:
        for line, _ in zip(lines, range(count)):
            record = json.loads(line)
            article = {"title": single_line(record.get("title")), "text": clean_text(record.get("text") or "")}
            docs.append(("en", title_and_text(article)))
    return docs


def score(name: str, detect, docs: list[tuple[str, str]]) -> dict:
    started = time.process_time()
    labels = [detect(text) for _, text in docs]
    seconds = time.process_time() - started
    counts = collections.Counter((language, label == language) for (language, _), label in zip(docs, labels))
    accuracy = {lang: round(100 * counts[(lang, True)] / (counts[(lang, True)] + counts[(lang, False)]), 1)
                for lang in sorted({language for language, _ in docs})}  # fmt: skip
    return {"detector": name, "cpu_seconds": round(seconds, 2), "accuracy_pct": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("europeana", type=pathlib.Path, help="folder with the enp_*.bio files")
    parser.add_argument("reuters", type=pathlib.Path, help="reuters21578.jsonl")
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--reuters-articles", type=int, default=1500)
    parser.add_argument("--py3langid-path", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default=str(HERE / "results" / "detector_alternatives.jsonl"))
    args = parser.parse_args()

    docs = europeana_docs(args.europeana, args.per_language, random.Random(args.seed))
    docs += reuters_docs(args.reuters, args.reuters_articles)
    sys.path.insert(0, args.py3langid_path)
    from py3langid.langid import _load_identifier

    identifier = _load_identifier(norm_probs=True)
    ours = LanguageDetector()
    ours.load()
    results = [
        score("py3langid (first 1,000 characters)", lambda text: identifier.classify(_prefix(text, 1000))[0], docs),
        score("newsbeam LanguageDetector (lingua)", lambda text: ours.detect(text)[0], docs),
    ]
    result = record_result(args.results, "detector_alternatives", {"documents": len(docs), "results": results})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
