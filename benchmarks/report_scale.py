"""Benchmark: `newsbeam report` over a 100,000-article dataset (the target: under 30 s on the reference machine).

Builds, in a temporary folder, a synthetic dataset with the real schema (`newsbeam.schemas`): `--articles`
articles over `--days` publication days in nl/en/fr/de from 40 sources, ~1,500 characters of text and
~10 entities each, written as one file per (day, language, run) like scheduled runs leave them, plus dead
letters and one run summary per run. Then times the whole `newsbeam report` process (HTML, then text),
`--repeat` times each, and appends the result to benchmarks/results/report.jsonl.

    python benchmarks/report_scale.py --articles 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import record_result, run_child, without_output  # noqa: E402

from newsbeam.schemas import ARTICLE_SCHEMA, ERROR_SCHEMA, SCHEMA_VERSION  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
LANGUAGES = ("nl", "en", "fr", "de")
NAMES = [(f"Person {n}", "PER") for n in range(300)] + [(f"Org {n}", "ORG") for n in range(300)] + \
        [(f"Place {n}", "LOC") for n in range(300)]  # fmt: skip
CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(NAMES))))  # Zipf-like
WORDS = "the market council river city harbour minister report growth storm train energy school court".split()
RUNS_PER_DAY = 3


def _articles(rng: random.Random, day: dt.date, language: str, run: int, count: int, first_id: int) -> list[dict]:
    rows = []
    for n in range(first_id, first_id + count):
        published = dt.datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=dt.timezone.utc)
        text = " ".join(rng.choices(WORDS, k=240))
        entities = [{"text": text_, "label": label, "start": 0, "end": len(text_), "field": "text"}
                    for text_, label in rng.choices(NAMES, cum_weights=CUMULATIVE, k=10)]  # fmt: skip
        rows.append({
            "id": f"{n:012x}", "url": f"https://news.example.org/{language}/{n}", "source": f"https://feeds.example.org/{n % 40}.xml",
            "source_type": "feed", "source_name": f"feed {n % 40}", "feed_title": f"Feed {n % 40}", "title": f"Title {n}",
            "text": text, "authors": [], "published_at": published, "published_precision": "minute", "published_raw": None,
            "language": language, "language_confidence": 0.95, "entities": entities,
            "sentiment": rng.uniform(-0.6, 0.6), "sentiment_label": "neutral", "sentiment_method": "vader-3.3.2",
            "content_hash": f"h{n}", "ingested_at": published + dt.timedelta(minutes=rng.randrange(5, 3000)),
            "run_id": f"run-{day:%Y%m%d}-{run}", "ner_model": "newsbeam_ner-0.2.0", "schema_version": SCHEMA_VERSION,
        })  # fmt: skip
    return rows


def build(root: pathlib.Path, articles: int, days: int, seed: int = 7) -> pathlib.Path:
    """A dataset of `articles` articles (and dead letters, run summaries) under root/dataset."""
    rng = random.Random(seed)
    dataset = root / "dataset"
    per_file = -(-articles // (days * len(LANGUAGES) * RUNS_PER_DAY))  # rounded up: exactly `articles` in all
    first_day, written = dt.date(2024, 1, 1), 0
    (dataset / "_runs").mkdir(parents=True)
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for run in range(RUNS_PER_DAY):
            run_id, run_written = f"run-{day:%Y%m%d}-{run}", 0
            for language in LANGUAGES:
                count = min(per_file, articles - written)
                if count <= 0:
                    break
                folder = dataset / "articles" / f"date={day}" / f"lang={language}"
                folder.mkdir(parents=True, exist_ok=True)
                table = pa.Table.from_pylist(_articles(rng, day, language, run, count, written), schema=ARTICLE_SCHEMA)
                pq.write_table(table, folder / f"part-{run_id}-00000.parquet")
                written, run_written = written + count, run_written + count
            errors = [{"source": f"https://feeds.example.org/{rng.randrange(40)}.xml", "stage": "fetch",
                       "reason": rng.choice(["timeout", "http_404", "not_a_feed"]), "detail": None, "record_id": None,
                       "at": dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.timezone.utc), "run_id": run_id}
                      for _ in range(rng.randrange(4))]  # fmt: skip
            if errors:
                folder = dataset / "errors" / f"date={day}"
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist(errors, schema=ERROR_SCHEMA), folder / f"part-{run_id}-00000.parquet")
            summary = {"run_id": run_id, "started_at": f"{day}T{8 * run:02d}:00:00+00:00", "seconds": rng.uniform(20, 90),
                       "state": "PipelineState.DONE", "totals": {"written": run_written, "failed": len(errors)}}  # fmt: skip
            (dataset / "_runs" / f"{run_id}.json").write_text(json.dumps(summary), encoding="utf-8")
    return dataset


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", default=str(HERE / "results" / "report.jsonl"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsbeam-report-bench-") as work:
        began = time.perf_counter()
        dataset = build(pathlib.Path(work), args.articles, args.days)
        files = sum(1 for _ in (dataset / "articles").rglob("*.parquet"))
        size = sum(p.stat().st_size for p in (dataset / "articles").rglob("*.parquet"))
        print(f"built {args.articles:,} articles in {files:,} files ({size / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - began:.0f} s", file=sys.stderr)  # fmt: skip
        cases = {"html": ["--output", str(pathlib.Path(work) / "report.html")], "text": ["--format", "text"]}
        runs: dict[str, list[dict]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, options in cases.items():  # alternated, so load changes hit both alike
                runs[name].append(run_child([sys.executable, "-m", "newsbeam", "report", str(dataset), *options]))
        print(runs["text"][-1]["stdout"], file=sys.stderr)
    fields = {"articles": args.articles, "days": args.days, "files": files, "mib": round(size / 2**20),
              "commit": _commit(), "command": " ".join(["python", "benchmarks/report_scale.py", *sys.argv[1:]])}  # fmt: skip
    for name, measured in runs.items():
        fields[name] = [without_output(run) for run in measured]
        fields[f"{name}_min_seconds"] = min(run["seconds"] for run in measured)
    result = record_result(args.results, "report_scale", fields)
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}, indent=2))


if __name__ == "__main__":
    main()
