"""The `errors/` (dead-letter) dataset's Parquet schema: one row per failed source or record."""

import pyarrow as pa

from newsbeam.schemas.article import SCHEMA_VERSION

ERROR_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),  # fetch, parse, normalise, enrich, write
        pa.field("reason", pa.string(), nullable=False),  # short stable code: timeout, http_404, not_a_feed, ...
        pa.field("detail", pa.string()),
        pa.field("record_id", pa.string()),  # the article's id; before normalisation, the id its source gave it
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata={"newsbeam.schema": "errors", "newsbeam.schema_version": SCHEMA_VERSION},
)
