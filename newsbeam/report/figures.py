"""The report's figures: small aggregates that DuckDB computes over the dataset, ready to draw or print.

Time series are bucketed by day, or by week or month when the selection spans more than a quarter or two
years, so that a chart never has more than ~100 points per series. Articles are placed on their
publication day, dead letters on the day they failed (the `date` partition of each).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from newsbeam.report.dataset import Dataset

TOP_SOURCES = 8  # series per chart by source; the rest are summed as "other sources"
TOP_ENTITIES = 10  # rows per language in the entity tables
TRENDING_ENTITIES = 5  # lines per language in the entity trend charts
TOP_PLACES = 300  # points on the map
FRESHNESS_BINS = (  # (label, upper bound in hours): delay between publication and ingestion
    ("< 1 h", 1), ("1-6 h", 6), ("6-24 h", 24), ("1-7 days", 24 * 7), ("7-30 days", 24 * 30), ("> 30 days", None),
)  # fmt: skip
# Freshness needs a publication time, not just a day: coarser dates would read as delays of hours or months.
EXACT_PRECISIONS = ("minute", "second")


@dataclasses.dataclass
class Series:
    """Values per bucket for named series: `values[name][i]` belongs to `buckets[i]` (None: no data)."""

    buckets: list[str]
    values: dict[str, list[float | None]]

    @property
    def empty(self) -> bool:
        """No count above zero (for series of counts)."""
        return not any(v for values in self.values.values() for v in values)

    @property
    def scored(self) -> bool:
        """Some value present (for series of means, where None means no data)."""
        return any(v is not None for values in self.values.values() for v in values)


@dataclasses.dataclass
class Figures:
    """Everything the HTML and text reports show."""

    bucket: str  # day, week or month, over publication days
    totals: dict
    by_language: Series
    by_source: Series
    languages: dict[str, int]  # articles per language, largest first
    sources: dict[str, int]  # articles per source (top), largest first
    top_entities: dict[str, list[tuple[str, str, int]]]  # language -> (text, label, mentions)
    entity_trends: dict[str, Series]  # language -> mentions per bucket of its top entities
    tone_by_language: Series
    tone_by_source: Series
    mean_tone: dict[str, float]  # language -> mean sentiment
    negative_share: Series | None  # mean `sentiment_negative_share` per language, when the column exists
    places: list[dict]  # name, mentions, and lat/lon when the dataset has coordinates
    places_have_coordinates: bool
    places_from: str  # "places" column, or "LOC entities" until articles carry places
    error_bucket: str  # day, week or month, over failure days
    errors_by_reason: Series
    error_sources: list[tuple[str, str, int, str]]  # source, reason, rows, last seen (UTC)
    freshness: Series  # articles per delay bin (buckets are the bins), per language
    median_delay_hours: dict[str, float]
    runs: list[dict]  # run_id, started_at, seconds, written, failed, state


def _bucket_for(first: dt.date | None, last: dt.date | None) -> str:
    if first is None or last is None:
        return "day"
    span = (last - first).days
    return "day" if span <= 92 else "week" if span <= 731 else "month"


def _bucket_labels(first: dt.date, last: dt.date, bucket: str) -> list[str]:
    """Every bucket from the first to the last, gaps included, as ISO dates of the bucket's first day."""
    def start(day: dt.date) -> dt.date:
        if bucket == "week":
            return day - dt.timedelta(days=day.weekday())
        if bucket == "month":
            return day.replace(day=1)
        return day

    labels, day = [], start(first)
    while day <= last:
        labels.append(day.isoformat())
        if bucket == "month":
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            day += dt.timedelta(days=7 if bucket == "week" else 1)
    return labels


def _series(rows: list[tuple], buckets: list[str], fill: float | None = 0) -> Series:
    """(bucket date, name, value) rows -> a Series over `buckets`, missing buckets set to `fill`."""
    index = {label: i for i, label in enumerate(buckets)}
    values: dict[str, list[float | None]] = {}
    for bucket, name, value in rows:
        values.setdefault(str(name), [fill] * len(buckets))[index[bucket.isoformat()]] = value
    return Series(buckets, values)


def source_label(source: str) -> str:
    """A short name for a source: a file's name, or a URL's host and path without the scheme."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", source, re.IGNORECASE):
        return source.split("://", 1)[1].rstrip("/")
    return source.replace("\\", "/").rsplit("/", 1)[-1] or source


def format_delay(hours: float) -> str:
    """A delay in hours, or in days from two days on."""
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:,.1f} days"


class _Queries:
    """The SQL behind each figure; one method per figure."""

    def __init__(self, dataset: Dataset, bucket: str, buckets: list[str]):
        self.dataset, self.bucket, self.buckets = dataset, bucket, buckets
        self.source = "coalesce(source_name, source)"
        self.when = f"date_trunc('{bucket}', date)::DATE"

    def per_bucket(self, name_sql: str, value_sql: str, where: str = "TRUE", fill: float | None = 0) -> Series:
        rows = self.dataset.rows(
            f"SELECT {self.when} AS b, {name_sql} AS name, {value_sql} FROM articles WHERE {where} GROUP BY ALL"
        )
        return _series(rows, self.buckets, fill)

    def top_sources(self) -> dict[str, int]:
        rows = self.dataset.rows(f"SELECT {self.source} AS s, count(*) AS n FROM articles GROUP BY s "
                                 f"ORDER BY n DESC, s LIMIT {TOP_SOURCES}")  # fmt: skip
        return dict(rows)

    def source_group(self, top: dict[str, int]) -> str:
        """SQL naming a row's source group: one of the top sources, else 'other sources'."""
        if not top:
            return "'other sources'"
        names = ", ".join("'" + name.replace("'", "''") + "'" for name in top)
        return f"CASE WHEN {self.source} IN ({names}) THEN {self.source} ELSE 'other sources' END"

    def top_entities(self) -> dict[str, list[tuple[str, str, int]]]:
        rows = self.dataset.rows(
            "SELECT lang, text, label, count(*) AS n FROM entities GROUP BY lang, text, label "
            f"QUALIFY row_number() OVER (PARTITION BY lang ORDER BY n DESC, text) <= {TOP_ENTITIES} "
            "ORDER BY lang, n DESC, text"
        )
        top: dict[str, list[tuple[str, str, int]]] = {}
        for language, text, label, mentions in rows:
            top.setdefault(language, []).append((text, label, mentions))
        return top

    def entity_trends(self, top: dict[str, list[tuple[str, str, int]]]) -> dict[str, Series]:
        trends = {}
        for language, entities in top.items():
            names = [text for text, _, _ in entities[:TRENDING_ENTITIES]]
            rows = self.dataset.rows(
                f"SELECT {self.when} AS b, text, count(*) FROM entities "
                "WHERE lang = ? AND list_contains(?, text) GROUP BY ALL",
                [language, names],
            )
            series = _series(rows, self.buckets)
            series.values = {name: series.values[name] for name in names if name in series.values}
            trends[language] = series
        return trends

    def places(self, columns: dict[str, str]) -> tuple[list[dict], bool, str]:
        """Top places: from the `places` column (schema 1.2: one entry per GeoNames place and article, with its
        mentions and coordinates) when the dataset has it, else the LOC entities."""
        if "places" in columns:
            rows = self.dataset.rows(
                "SELECT any_value(p.name) AS place, sum(p.mentions)::BIGINT AS n, avg(p.latitude)::DOUBLE, "
                "avg(p.longitude)::DOUBLE FROM articles, unnest(places) AS t(p) WHERE p.name IS NOT NULL "
                "GROUP BY coalesce(p.geonames_id::VARCHAR, p.name) "
                f"ORDER BY n DESC, place LIMIT {TOP_PLACES}"
            )
            places = [dict(zip(("name", "mentions", "lat", "lon"), row)) for row in rows]
            coordinates = bool(places) and all(p["lat"] is not None and p["lon"] is not None for p in places)
            return places, coordinates, "places"
        rows = self.dataset.rows("SELECT text, count(*) AS n FROM entities "
                                 f"WHERE label = 'LOC' GROUP BY ALL ORDER BY n DESC, text LIMIT {TOP_PLACES}")  # fmt: skip
        return [{"name": p, "mentions": n} for p, n in rows], False, "LOC entities"

    def freshness(self) -> tuple[Series, dict[str, float]]:
        hours = "epoch(ingested_at - published_at) / 3600"
        cases = " ".join(f"WHEN {hours} < {bound} THEN '{label}'" for label, bound in FRESHNESS_BINS if bound)
        exact = "published_precision IN (" + ", ".join(f"'{p}'" for p in EXACT_PRECISIONS) + ")"
        rows = self.dataset.rows(f"SELECT CASE {cases} ELSE '{FRESHNESS_BINS[-1][0]}' END AS bin, lang, count(*) "
                                 f"FROM articles WHERE {exact} GROUP BY ALL")  # fmt: skip
        bins = [label for label, _ in FRESHNESS_BINS]
        values: dict[str, list[float | None]] = {}
        for label, language, n in rows:
            values.setdefault(language, [0] * len(bins))[bins.index(label)] = n
        medians = dict(self.dataset.rows(f"SELECT lang, median({hours}) FROM articles WHERE {exact} "
                                         "GROUP BY lang ORDER BY lang"))  # fmt: skip
        return Series(bins, dict(sorted(values.items()))), medians


def _error_figures(dataset: Dataset) -> tuple[str, Series, list, int]:
    """Dead letters per bucket of failure days and reason, the sources and reasons with most, and their total."""
    first, last = _span(dataset, "errors") if dataset.has_errors else (None, None)
    bucket = _bucket_for(first, last)
    if first is None:
        return bucket, Series([], {}), [], 0
    rows = dataset.rows(f"SELECT date_trunc('{bucket}', date)::DATE AS b, reason, count(*) FROM errors GROUP BY ALL")
    by_source = dataset.rows(
        "SELECT source, reason, count(*) AS n, strftime(max(\"at\"), '%Y-%m-%d %H:%M') FROM errors "
        "GROUP BY source, reason ORDER BY n DESC, source LIMIT 20"
    )
    total = dataset.rows("SELECT count(*) FROM errors")[0][0]
    return bucket, _series(rows, _bucket_labels(first, last, bucket)), by_source, total


def _runs(dataset: Dataset) -> list[dict]:
    return [
        {
            "run_id": run.get("run_id", "?"),
            "started_at": str(run.get("started_at", ""))[:19].replace("T", " "),
            "seconds": float(run.get("seconds") or 0),
            "written": int(run.get("totals", {}).get("written", 0)),
            "failed": int(run.get("totals", {}).get("failed", 0)),
            "state": str(run.get("state", "")).rsplit(".", 1)[-1],
        }
        for run in dataset.runs
    ]


def _span(dataset: Dataset, view: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (the `date` partition) of a view in the selection."""
    return tuple(dataset.rows(f"SELECT min(date), max(date) FROM {view}")[0])


def compute(dataset: Dataset) -> Figures:
    """All figures of the report, from aggregates only."""
    first, last = _span(dataset, "articles") if dataset.has_articles else (None, None)
    bucket = _bucket_for(first, last)
    buckets = _bucket_labels(first, last, bucket) if first else []
    error_bucket, errors_by_reason, error_sources, n_errors = _error_figures(dataset)
    totals = {"articles": 0, "languages": 0, "sources": 0, "first_day": first and first.isoformat(),
              "last_day": last and last.isoformat(), "errors": n_errors, "runs": len(dataset.runs)}  # fmt: skip
    empty = Series(buckets, {})
    if not dataset.has_articles:
        return Figures(bucket, totals, empty, empty, {}, {}, {}, {}, empty, empty, {}, None, [], False, "places",
                       error_bucket, errors_by_reason, error_sources, Series([], {}), {}, _runs(dataset))  # fmt: skip
    queries = _Queries(dataset, bucket, buckets)
    articles, n_sources = dataset.rows("SELECT count(*), count(DISTINCT coalesce(source_name, source)) FROM articles")[0]
    languages = dict(dataset.rows("SELECT lang, count(*) AS n FROM articles GROUP BY lang ORDER BY n DESC, lang"))
    totals.update(articles=articles, languages=len(languages), sources=n_sources)
    sources = queries.top_sources()
    group = queries.source_group(sources)
    top = queries.top_entities()
    places, coordinates, places_from = queries.places(dataset.columns)
    freshness, medians = queries.freshness()
    scored = "sentiment IS NOT NULL"
    negative_share = None
    if "sentiment_negative_share" in dataset.columns:
        negative_share = queries.per_bucket("lang", "avg(sentiment_negative_share) * 100",
                                            "sentiment_negative_share IS NOT NULL", fill=None)  # fmt: skip
    return Figures(
        bucket=bucket,
        totals=totals,
        by_language=queries.per_bucket("lang", "count(*)"),
        by_source=queries.per_bucket(group, "count(*)"),
        languages=languages,
        sources=sources,
        top_entities=top,
        entity_trends=queries.entity_trends(top),
        tone_by_language=queries.per_bucket("lang", "avg(sentiment)", scored, fill=None),
        tone_by_source=queries.per_bucket(group, "avg(sentiment)", scored, fill=None),
        mean_tone=dict(dataset.rows(f"SELECT lang, avg(sentiment) FROM articles WHERE {scored} GROUP BY lang ORDER BY lang")),
        negative_share=negative_share,
        places=places,
        places_have_coordinates=coordinates,
        places_from=places_from,
        error_bucket=error_bucket,
        errors_by_reason=errors_by_reason,
        error_sources=error_sources,
        freshness=freshness,
        median_delay_hours=medians,
        runs=_runs(dataset),
    )
