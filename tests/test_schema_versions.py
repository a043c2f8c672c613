"""Partitions written under older schema versions stay readable together with new ones (new columns null)."""

import pathlib

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsbeam.schemas import ARTICLE_SCHEMA, SCHEMA_VERSION

NEW_IN_1_1 = ("sentiment_negative_share", "sentiment_positive_share")
NEW_IN_1_2 = ("places", "countries")


def _schema_1_0() -> pa.Schema:
    """The 1.0 schema: no sentiment shares, no places or countries, entities without `place_id`."""
    fields = []
    for field in ARTICLE_SCHEMA:
        if field.name in NEW_IN_1_1 + NEW_IN_1_2:
            continue
        if field.name == "entities":
            entity = field.type.value_type
            field = field.with_type(pa.list_(pa.struct([f for f in entity if f.name != "place_id"])))
        fields.append(field)
    return pa.schema(fields, metadata={b"newsbeam.schema_version": b"1.0"})


def _row(article_id: str, version: str, **extra) -> dict:
    return {"id": article_id, "source": "s", "source_type": "text", "text": "Tekst.", "authors": [],
            "language": "nl", "entities": [], "sentiment": -0.2, "sentiment_label": "negative",
            "sentiment_method": "m", "content_hash": "h", "ingested_at": 0, "run_id": "r",
            "schema_version": version, **extra}  # fmt: skip


def _write(path: pathlib.Path, schema: pa.Schema, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {name: [row.get(name)] for name in schema.names}
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)


def _two_versions(root: pathlib.Path) -> None:
    """A 1.0 file and a current file, in two Hive partitions of one dataset."""
    _write(root / "date=2022-09-01/lang=nl/part-old.parquet", _schema_1_0(), _row("old", "1.0"))
    new = _row("new", SCHEMA_VERSION, sentiment_negative_share=0.25, sentiment_positive_share=0.0)
    _write(root / "date=2022-09-02/lang=nl/part-new.parquet", ARTICLE_SCHEMA, new)


def test_current_version_adds_the_sentiment_shares_and_places():
    assert SCHEMA_VERSION == "1.2"
    assert all(ARTICLE_SCHEMA.field(name).nullable for name in NEW_IN_1_1 + NEW_IN_1_2)
    assert ARTICLE_SCHEMA.metadata[b"newsbeam.schema_version"] == b"1.2"


def test_pyarrow_reads_old_and_new_partitions_as_one_dataset(tmp_path):
    _two_versions(tmp_path)
    table = ds.dataset(tmp_path, schema=ARTICLE_SCHEMA, format="parquet", partitioning="hive").to_table()
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows["old"]["sentiment_negative_share"] is None and rows["old"]["schema_version"] == "1.0"
    assert rows["new"]["sentiment_negative_share"] == 0.25 and rows["new"]["schema_version"] == SCHEMA_VERSION
    assert rows["old"]["places"] is None and rows["new"]["places"] is None


def test_duckdb_union_by_name_reads_old_and_new_partitions(tmp_path):
    _two_versions(tmp_path)
    rows = duckdb.sql(
        f"SELECT id, sentiment, sentiment_positive_share, lang FROM read_parquet('{tmp_path}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true) ORDER BY id"
    ).fetchall()
    assert [(r[0], round(r[1], 3), r[2], r[3]) for r in rows] == [("new", -0.2, 0.0, "nl"), ("old", -0.2, None, "nl")]
