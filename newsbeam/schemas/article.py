"""The `articles/` dataset's Parquet schema: the contract analysts query. Bump SCHEMA_VERSION on any change.

Versions only add nullable columns, so files of every version read together as one dataset (pyarrow with this
schema, DuckDB `union_by_name`); an older file's rows have null in the newer columns.
- 1.1: `sentiment_negative_share`, `sentiment_positive_share`; `sentiment` is on one scale for all languages
  (P(positive) - P(negative), see `transforms/enrich/sentiment.py`), null with the reason in `sentiment_method`
  for languages without a validated method.
- 1.2: `entities[].place_id`, `places`, `countries` (`transforms/enrich/places.py`, docs/schema.md).
"""

import pyarrow as pa

SCHEMA_VERSION = "1.2"

ENTITY = pa.struct(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),  # PER, ORG, LOC, MISC
        pa.field("start", pa.int32(), nullable=False),  # character offsets into `field`
        pa.field("end", pa.int32(), nullable=False),
        pa.field("field", pa.string(), nullable=False),  # "title" or "text"
        pa.field("place_id", pa.int64()),  # GeoNames id of the place a LOC names; null when none (and before 1.2)
    ]
)

PLACE = pa.struct(
    [
        pa.field("geonames_id", pa.int64()),  # null only for the few curated regions without a GeoNames entry
        pa.field("name", pa.string(), nullable=False),  # English/ASCII canonical name
        pa.field("country_code", pa.string()),  # ISO 3166-1 alpha-2; null for continents
        pa.field("feature", pa.string(), nullable=False),  # country, region, city, continent
        pa.field("latitude", pa.float64()),
        pa.field("longitude", pa.float64()),
        pa.field("mentions", pa.int32(), nullable=False),
    ]
)

# Partition columns `date` (YYYY-MM-DD) and `lang` live in the path (Hive style), not in the files.
ARTICLE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_type", pa.string(), nullable=False),  # feed, text, jsonl, html
        pa.field("source_name", pa.string()),
        pa.field("feed_title", pa.string()),
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("authors", pa.list_(pa.string()), nullable=False),
        pa.field("published_at", pa.timestamp("us", tz="UTC")),
        pa.field("published_precision", pa.string()),
        pa.field("published_raw", pa.string()),
        pa.field("language", pa.string(), nullable=False),
        pa.field("language_confidence", pa.float32()),
        pa.field("entities", pa.list_(ENTITY), nullable=False),
        pa.field("places", pa.list_(PLACE)),  # one per distinct place; null in rows written before 1.2
        pa.field("countries", pa.list_(pa.string())),  # ISO codes the places lie in; null before 1.2
        pa.field("sentiment", pa.float32()),
        pa.field("sentiment_label", pa.string()),
        pa.field("sentiment_method", pa.string()),
        pa.field("sentiment_negative_share", pa.float32()),  # share of the article's sentences labelled negative
        pa.field("sentiment_positive_share", pa.float32()),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("ner_model", pa.string()),
        pa.field("schema_version", pa.string(), nullable=False),
    ],
    metadata={"newsbeam.schema": "articles", "newsbeam.schema_version": SCHEMA_VERSION},
)
