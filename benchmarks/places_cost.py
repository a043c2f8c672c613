"""What resolving places costs next to NER, in the same run: spaCy `nlp.pipe` over N Reuters articles, then the
place resolver (gazetteer load included) over the entities it produced.

    python benchmarks/places_cost.py PATH/reuters21578.jsonl [--limit 3000] [--output benchmarks/results/places_cost.jsonl]
"""

import argparse
import json
import subprocess
import time

from newsbeam.transforms.enrich import registry as reg
from newsbeam.transforms.enrich.ner import spans_to_entities
from newsbeam.transforms.enrich.places import PlaceResolver, place_columns


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--output", default="benchmarks/results/places_cost.jsonl")
    args = parser.parse_args()
    with open(args.corpus, encoding="utf-8") as lines:
        articles = [json.loads(line) for _, line in zip(range(args.limit), lines)]
    nlp = reg.ModelRegistry().resolve("en").load()
    start = time.perf_counter()
    docs = list(nlp.pipe((a["text"] for a in articles), batch_size=64))
    ner_seconds = time.perf_counter() - start
    rows = []
    for article, doc in zip(articles, docs):
        row = {"title": None, "text": article["text"], "language": "en"}
        row["entities"] = spans_to_entities(row, [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents])
        rows.append(row)
    start = time.perf_counter()
    from newsbeam.transforms.enrich.gazetteer import load_gazetteer

    resolver = PlaceResolver(load_gazetteer())
    load_seconds = time.perf_counter() - start
    places = sum(len(place_columns(row, resolver.resolve(row))["places"]) for row in rows)
    places_seconds = time.perf_counter() - start
    result = {
        "articles": len(articles), "ner_model": nlp.meta["name"], "ner_s": round(ner_seconds, 2),
        "places_s": round(places_seconds, 3), "gazetteer_load_s": round(load_seconds, 3),
        "places_share_of_ner": round(places_seconds / ner_seconds, 4), "places_found": places,
        "entities": sum(len(row["entities"]) for row in rows),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d"), "loadavg": open("/proc/loadavg").read().split()[:3],
    }  # fmt: skip
    print(json.dumps(result))
    with open(args.output, "a", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
