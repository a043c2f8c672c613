"""Benchmark: what the news conventions cost next to the NER model's `nlp.pipe`, on the same docs, one thread.

Times `nlp.pipe` over the first N articles' texts with the bundled model, then `conform` over the docs without
and with the gazetteer's country names (cached per name, as the NER worker does). Appends one JSON line.

    python benchmarks/conventions_cost.py /work/shared/data/corpora/reuters21578.jsonl --articles 600
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import corpus_parser, record_result  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    import spacy

    from newsbeam.transforms.enrich import registry
    from newsbeam.transforms.enrich.conventions import conform
    from newsbeam.transforms.enrich.gazetteer import load_gazetteer

    args = corpus_parser(__doc__, HERE / "results" / "conventions_cost.jsonl", 600).parse_args()
    with open(args.corpus, encoding="utf-8") as corpus:
        texts = [json.loads(line).get("text") or "" for line in itertools.islice(corpus, args.articles)]
    nlp = spacy.load(registry.BUNDLED_PATH)
    is_country = functools.lru_cache(maxsize=1 << 16)(load_gazetteer().names_only_a_country)
    began = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=64))
    pipe_seconds = time.perf_counter() - began
    timings = {}
    for name, countries in (("conform", None), ("conform_with_countries", is_country)):
        began = time.perf_counter()
        entities = sum(len(conform(doc, "en", countries)) for doc in docs)
        timings[name] = {"seconds": round(time.perf_counter() - began, 3), "entities": entities}
    result = record_result(args.results, "conventions_cost", {
        "label": args.label, "articles": len(texts),
        "model": f"{nlp.meta['name']}-{nlp.meta['version']}", "pipe_seconds": round(pipe_seconds, 3),
        "model_entities": sum(len(doc.ents) for doc in docs), **timings,
        "share_of_pipe": round(timings["conform_with_countries"]["seconds"] / pipe_seconds, 4),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
