"""Benchmark: sentiment time per article against NER time on the same texts, in one process, one after the other.

    python benchmarks/sentiment_cost.py /work/shared/data/corpora/reuters21578.jsonl --articles 500 \
        [--extra /work/shared/samples/000_49427d75354bfe23.txt:nl]

Both read what the pipeline reads (title and text joined as `title_and_text`). NER is the model `newsbeam models`
resolves for the language (the bundled one unless an official pipeline is installed), run with `nlp.pipe` and the
handler's batch size and character cap; sentiment is `SentimentScorer.score` per article. Model loading is timed
apart from scoring. The target: sentiment at most 25 % of NER time per article. Appends a line to
`benchmarks/results/sentiment_cost.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from _measure import load_average, machine  # noqa: E402

from newsbeam.transforms.enrich.ner import _NOT_NEEDED, SpacyNERModelHandler  # noqa: E402
from newsbeam.transforms.enrich.registry import ModelRegistry, parse_overrides  # noqa: E402
from newsbeam.transforms.enrich.sentiment import SentimentScorer  # noqa: E402
from newsbeam.transforms.normalise.text import clean_text, single_line, title_and_text  # noqa: E402


def texts_of(corpus: str, count: int) -> list[str]:
    out = []
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            if len(out) >= count:
                break
            article = json.loads(line)
            out.append(title_and_text({"title": single_line(article.get("title")), "text": clean_text(article["text"])}))
    return out


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(language: str, texts: list[str]) -> dict:
    """Load and per-article times of NER and sentiment for one language's texts."""
    handler = SpacyNERModelHandler({})
    spec = ModelRegistry(parse_overrides([])).resolve(language)
    started = time.perf_counter()
    nlp = spec.load(exclude=_NOT_NEEDED)
    ner_load = time.perf_counter() - started
    scorer = SentimentScorer()
    sentiment_load = timed(lambda: scorer.score("x", language))
    capped = [t[: handler._max_chars] for t in texts]
    ner = timed(lambda: list(nlp.pipe(capped, batch_size=handler._batch_size)))
    sentiment = timed(lambda: [scorer.score(t, language) for t in texts])
    return {"language": language, "articles": len(texts), "characters": sum(map(len, texts)), "ner_model": spec.label,
            "ner_load_s": round(ner_load, 3), "sentiment_load_s": round(sentiment_load, 3),
            "ner_ms_per_article": round(1000 * ner / len(texts), 2),
            "sentiment_ms_per_article": round(1000 * sentiment / len(texts), 2),
            "sentiment_over_ner": round(sentiment / ner, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="JSON Lines articles (title, text) in English")
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--extra", action="append", default=[], help="FILE:LANG, one article scored 20 times")
    args = parser.parse_args()
    runs = [measure("en", texts_of(args.corpus, args.articles))]
    for extra in args.extra:
        path, language = extra.rsplit(":", 1)
        runs.append(measure(language, [pathlib.Path(path).read_text(encoding="utf-8")] * 20))
    record = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), "load_average": load_average(), "runs": runs}
    with open(HERE / "results" / "sentiment_cost.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
