"""Precision and recall of place resolution against hand-checked mentions.

    python benchmarks/places_eval.py sample PATH... [--seed 20261203] [--output places_candidates.tsv]
    python benchmarks/places_eval.py score [--gold benchmarks/data/places_gold.tsv] [--rerun PATH...]

`sample` runs the real ingest pipeline (CLI, bundled NER model, place step) over the given files or folders, then
draws LOC mentions with a fixed seed, spread over nl/en/fr/de, plus every place the step found where the
recogniser had missed the name (`source` = gazetteer), and writes them with their sentence, the article's language
and the resolver's answer. A reader then decides each mention's place without looking at the answer, and the rows
with that decision become the gold file.

`score` reports, per language and overall, precision (correct resolutions / resolutions made) and recall (correct
resolutions / mentions a reader resolves to a GeoNames place). Mentions that are no place (NER errors) count in
precision when the resolver placed them, never in recall, and are reported apart. Without `--rerun` it scores the
answers recorded in the gold file; with it, it runs the pipeline again over those paths and scores today's answers.
"""

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.dataset as ds

from newsbeam.transforms.enrich.gazetteer import load_gazetteer
from newsbeam.transforms.enrich.places import PlaceResolver

LANGUAGES = ("nl", "en", "fr", "de")
QUOTA = {"nl": 60, "en": 60, "fr": 60, "de": 60}  # LOC mentions per language; a language with fewer gives all
CANDIDATE_COLUMNS = ["mention_id", "language", "source", "mention", "context", "answer_id", "answer_name",
                     "answer_country", "answer_feature"]  # fmt: skip
GOLD_COLUMNS = CANDIDATE_COLUMNS + ["gold", "gold_id", "gold_name", "gold_country", "checked", "note"]
# gold: place (gold_id, or gold_name for a curated place without id) | place_unlisted (a place GeoNames has that
# no offline data here gives an id for) | vague (a location no GeoNames place stands for: "Norddeutschland") |
# not_place (no location: the recogniser's error). Places and unlisted places make recall's denominator.
CONTEXT_CHARS = 160


def articles_from_pipeline(paths: list[str]) -> list[dict]:
    """The article rows the CLI writes for `paths`, read back from a temporary dataset."""
    with tempfile.TemporaryDirectory() as output:
        command = [sys.executable, "-m", "newsbeam", "ingest", "--output", output]
        for path in paths:
            command += ["--source", path]
        subprocess.run(command, check=True)
        table = ds.dataset(Path(output) / "articles", format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def sentence_around(text: str, start: int, end: int) -> str:
    """The mention's sentence (clipped), the mention in [[ ]], on one line."""
    left = max(text.rfind(mark, max(0, start - CONTEXT_CHARS), start) for mark in (". ", "\n", "? ", "! "))
    left = left + 1 if left >= 0 else max(0, start - CONTEXT_CHARS)
    stops = [i for i in (text.find(mark, end, end + CONTEXT_CHARS) for mark in (". ", "\n", "? ", "! ")) if i >= 0]
    right = min(stops) + 1 if stops else min(len(text), end + CONTEXT_CHARS)
    snippet = f"{text[left:start]}[[{text[start:end]}]]{text[end:right]}"
    return " ".join(snippet.split())


def answer_columns(place) -> dict:
    if place is None:
        return {"answer_id": "", "answer_name": "", "answer_country": "", "answer_feature": ""}
    return {"answer_id": "" if place.geonames_id is None else str(place.geonames_id), "answer_name": place.name,
            "answer_country": place.country_code or "", "answer_feature": place.feature}  # fmt: skip


def all_mentions(rows: list[dict]) -> list[dict]:
    """Every LOC entity of the rows with the resolver's answer, and every missed name the place step placed."""
    resolver = PlaceResolver(load_gazetteer())
    mentions = []
    for row in rows:
        places = resolver.resolve(row)
        for entity, place in zip(row["entities"], places):
            if entity["label"] != "LOC":
                continue
            assert (place.geonames_id if place else None) == entity["place_id"], (row["id"], entity)  # same as the run
            text = row[entity["field"]] or ""
            mentions.append({"mention_id": f"{row['id']}:{entity['field']}:{entity['start']}",
                             "language": row["language"], "source": "ner", "mention": " ".join(entity["text"].split()),
                             "context": sentence_around(text, entity["start"], entity["end"]), **answer_columns(place)})  # fmt: skip
        for span, place in resolver.unrecognised(row, places):
            mentions.append({"mention_id": f"{row['id']}:{span.field}:{span.start}", "language": row["language"],
                             "source": "gazetteer", "mention": span.text,
                             "context": sentence_around(row["text"], span.start, span.end), **answer_columns(place)})  # fmt: skip
    return mentions


def draw(mentions: list[dict], seed: int) -> list[dict]:
    """QUOTA LOC mentions per language, drawn with `seed`, and all gazetteer-found ones in those languages."""
    rng = random.Random(seed)
    drawn = []
    for language in LANGUAGES:
        pool = [m for m in mentions if m["language"] == language and m["source"] == "ner"]
        drawn += rng.sample(pool, min(QUOTA[language], len(pool)))
        drawn += [m for m in mentions if m["language"] == language and m["source"] == "gazetteer"]
    return drawn


def write_tsv(path: str, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns, delimiter="\t", extrasaction="ignore", lineterminator="\n",
                                quoting=csv.QUOTE_NONE, quotechar=None)  # fields hold no tab or newline
        writer.writeheader()
        writer.writerows(rows)


def read_tsv(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as lines:
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None))


def is_correct(row: dict) -> bool:
    """The resolver's answer is the gold place: the same GeoNames id, or the same curated place without an id."""
    if row["gold"] != "place" or not row["answer_name"]:
        return False
    if row["gold_id"]:
        return row["answer_id"] == row["gold_id"]
    return not row["answer_id"] and row["answer_name"] == row["gold_name"]


def tally(rows: list[dict]) -> dict:
    made = [row for row in rows if row["answer_name"]]
    places = [row for row in rows if row["gold"] in ("place", "place_unlisted")]
    correct = sum(is_correct(row) for row in rows)
    errors = [row for row in rows if row["gold"] == "not_place"]
    return {
        "mentions": len(rows), "places": len(places), "resolutions": len(made), "correct": correct,
        "precision": correct / len(made) if made else None, "recall": correct / len(places) if places else None,
        "not_place": len(errors), "not_place_resolved": sum(1 for row in errors if row["answer_name"]),
    }  # fmt: skip


def report(rows: list[dict]) -> str:
    groups = defaultdict(list)
    for row in rows:
        groups[row["language"]].append(row)
        groups[f"source={row['source']}"].append(row)
    lines = ["| group | mentions | places (gold) | resolutions | correct | precision | recall | not places (resolved) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name in [*LANGUAGES, "source=ner", "source=gazetteer", "all"]:
        t = tally(rows if name == "all" else groups.get(name, []))
        ratio = lambda value: "-" if value is None else f"{value:.3f}"  # noqa: E731
        lines.append(f"| {name} | {t['mentions']} | {t['places']} | {t['resolutions']} | {t['correct']} | "
                     f"{ratio(t['precision'])} | {ratio(t['recall'])} | {t['not_place']} ({t['not_place_resolved']}) |")  # fmt: skip
    wrong = [row for row in rows if row["answer_name"] and not is_correct(row)]
    lines.append("")
    lines.append("Wrong resolutions: " + "; ".join(
        f"{row['mention']} ({row['language']}) -> {row['answer_name']} {row['answer_country']}, gold "
        f"{row['gold'] if row['gold'] != 'place' else row['gold_name'] + ' ' + row['gold_country']}" for row in wrong))  # fmt: skip
    return "\n".join(lines)


def rescored(gold: list[dict], paths: list[str]) -> list[dict]:
    """The gold rows with today's answers for the same mentions (none where a mention is no longer found)."""
    today = {m["mention_id"]: m for m in all_mentions(articles_from_pipeline(paths))}
    return [{**row, **answer_columns(None), **{k: today[row["mention_id"]][k] for k in answer_columns(None) if
             row["mention_id"] in today}} for row in gold]  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample")
    sample.add_argument("paths", nargs="+")
    sample.add_argument("--seed", type=int, default=20261203)
    sample.add_argument("--output", default="places_candidates.tsv")
    score = commands.add_parser("score")
    score.add_argument("--gold", default="benchmarks/data/places_gold.tsv")
    score.add_argument("--rerun", nargs="+", metavar="PATH")
    args = parser.parse_args()
    if args.command == "sample":
        drawn = draw(all_mentions(articles_from_pipeline(args.paths)), args.seed)
        write_tsv(args.output, drawn, CANDIDATE_COLUMNS)
        print(f"{len(drawn)} mentions ({dict(Counter(m['language'] for m in drawn))}) in {args.output}")
    else:
        gold = read_tsv(args.gold)
        print(report(rescored(gold, args.rerun) if args.rerun else gold))


if __name__ == "__main__":
    main()
