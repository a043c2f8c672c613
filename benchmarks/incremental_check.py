"""Benchmark: what the incremental check costs when a scheduled run finds nothing new in a large dataset.

Builds a dataset of `--articles` rows (default 100,000) spread over `--files` Parquet files, as many
5-minute runs would leave it, plus a JSON Lines source whose `--source-articles` articles are all
already in it. Then, in the same run, times `newsbeam ingest` on that source into (a) an empty
output and (b) the large dataset, and the same after `newsbeam compact`.

    python benchmarks/incremental_check.py --articles 100000 --files 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result  # noqa: E402

from newsbeam.schemas import ARTICLE_SCHEMA, SCHEMA_VERSION  # noqa: E402
from newsbeam.transforms.normalise import identity  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
TEXT = "The central bank kept interest rates unchanged on {day}, citing steady growth. Report {n}."


def _row(article_id: str, n: int, day: dt.date) -> dict:
    at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    text = TEXT.format(day=day.isoformat(), n=n)
    return {
        "id": article_id, "url": None, "source": "bench", "source_type": "jsonl", "source_name": None,
        "feed_title": None, "title": f"Rates {n}", "text": text, "authors": [], "published_at": at,
        "published_precision": "day", "published_raw": day.isoformat(), "language": "en",
        "language_confidence": 0.9, "entities": [], "sentiment": 0.0, "sentiment_label": "neutral",
        "sentiment_method": "vader-3.3.2", "content_hash": identity.content_hash(f"Rates {n}", text),
        "ingested_at": at, "run_id": "bench", "ner_model": None, "schema_version": SCHEMA_VERSION,
    }  # fmt: skip


def build(work: pathlib.Path, articles: int, files: int, source_articles: int) -> tuple[pathlib.Path, pathlib.Path]:
    """The source file, and a dataset that already holds its articles among `articles` rows."""
    source = work / "source.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for n in range(source_articles):
            day = dt.date(2023, 1, 1) + dt.timedelta(days=n % 30)
            handle.write(json.dumps({"id": f"item-{n}", "title": f"Rates {n}", "text": TEXT.format(day=day, n=n),
                                     "published": day.isoformat()}) + "\n")  # fmt: skip
    ids = [identity.article_id(identity.identity_key(f"item-{n}", None, "", str(source))) for n in range(source_articles)]
    ids += [identity.article_id(f"filler:{n}") for n in range(articles - source_articles)]
    per_file = -(-articles // files)
    dataset = work / "dataset"
    for number in range(files):
        chunk = ids[number * per_file : (number + 1) * per_file]
        if not chunk:
            break
        day = dt.date(2023, 1, 1) + dt.timedelta(days=number % 30)
        folder = dataset / "articles" / f"date={day.isoformat()}" / "lang=en"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [_row(article_id, number * per_file + i, day) for i, article_id in enumerate(chunk)]
        pq.write_table(pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA), folder / f"part-bench-{number:05d}.parquet")
    return source, dataset


def timed(command: list[str]) -> tuple[float, dict | None]:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode:
        raise SystemExit(f"{command} failed:\n{completed.stderr[-3000:]}")
    return seconds, completed


def last_summary(output: pathlib.Path) -> dict:
    return json.loads(sorted((output / "_runs").glob("*.json"))[-1].read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--source-articles", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case, interleaved; the minimum counts")
    parser.add_argument("--results", default=str(HERE / "results" / "incremental.jsonl"))
    args = parser.parse_args()
    cli = [sys.executable, "-m", "newsbeam.cli"]
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        started = time.perf_counter()
        source, dataset = build(work, args.articles, args.files, args.source_articles)
        build_seconds = time.perf_counter() - started
        empty_runs, full_runs = [], []
        for attempt in range(args.repeat):  # interleaved, so load on the machine hits both cases alike
            empty_runs.append(timed([*cli, "ingest", "--source", str(source), "--output", str(work / f"empty{attempt}")])[0])
            full_runs.append(timed([*cli, "ingest", "--source", str(source), "--output", str(dataset)])[0])
        empty_seconds, full_seconds = min(empty_runs), min(full_runs)
        full = last_summary(dataset)["totals"]
        compact_seconds, _ = timed([*cli, "compact", str(dataset)])
        files_after = len(list((dataset / "articles").rglob("*.parquet")))
        compacted_seconds = min(
            timed([*cli, "ingest", "--source", str(source), "--output", str(dataset)])[0] for _ in range(args.repeat)
        )
        compacted = last_summary(dataset)["totals"]
    result = record_result(args.results, "incremental_check", {
        "dataset_articles": args.articles,
        "dataset_files": args.files,
        "source_articles": args.source_articles,
        "build_seconds": round(build_seconds, 1),
        "repeat": args.repeat,
        "run_into_empty_output_seconds": round(empty_seconds, 1),
        "run_finding_nothing_new_seconds": round(full_seconds, 1),
        "all_runs_seconds": {"empty": [round(x, 1) for x in empty_runs], "nothing_new": [round(x, 1) for x in full_runs]},
        "nothing_new_totals": full,
        "compact_seconds": round(compact_seconds, 1),
        "files_after_compaction": files_after,
        "run_finding_nothing_new_after_compaction_seconds": round(compacted_seconds, 1),
        "after_compaction_totals": compacted,
        "ratio_nothing_new_vs_empty": round(full_seconds / empty_seconds, 3),
        "ratio_after_compaction_vs_empty": round(compacted_seconds / empty_seconds, 3),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
