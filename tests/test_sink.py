"""The Parquet sink on a real pipeline: partitions, atomic files, schema rejects, read back with pyarrow."""

import datetime as dt
import os

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.pipelines.runner import OfflineDirectRunner
from newsbeam.schemas import ERROR_SCHEMA
from newsbeam.transforms.sink.files import write_bytes_atomically
from newsbeam.transforms.sink.parquet import ERRORS, WRITTEN, WritePartitionedParquet
from newsbeam.transforms.sink.partitions import article_partition, error_partition, safe_language

AT = dt.datetime(2023, 3, 14, 9, 30, tzinfo=dt.timezone.utc)


def _error(source, day):
    return {"source": source, "stage": "fetch", "reason": "timeout", "detail": "", "record_id": None,
            "at": AT.replace(day=day), "run_id": "r1"}  # fmt: skip


@pytest.mark.parametrize("value, expected", [("nl", "nl"), ("fil", "fil"), ("../../x", "und"), ("NL", "und"), (None, "und"), ("", "und")])
def test_partition_language_is_validated(value, expected):
    assert safe_language(value) == expected


def test_article_partition_path():
    assert article_partition({"partition_date": "2022-09-01", "language": "nl"}) == "date=2022-09-01/lang=nl"
    assert article_partition({"partition_date": "2022-09-01", "language": "../etc"}) == "date=2022-09-01/lang=und"
    with pytest.raises(ValueError):
        article_partition({"partition_date": "../../x", "language": "nl"})


def test_partitioned_files_written_atomically_and_read_back(tmp_path):
    rows = [_error("a", 14), _error("a", 14), _error("b", 15), {**_error("c", 15), "stage": None}]
    with TestPipeline(runner=OfflineDirectRunner()) as pipeline:
        result = pipeline | beam.Create(rows) | WritePartitionedParquet(
            str(tmp_path), ERROR_SCHEMA, error_partition, "part-r1", max_rows_per_file=1, sort_key="source"
        )
        assert_that(result[WRITTEN], equal_to([("a", 1), ("a", 1), ("b", 1)]), label="written")
        assert_that(result[ERRORS] | beam.Map(lambda e: (e["source"], e["stage"], e["reason"])),
                    equal_to([("c", "write", "schema_mismatch")]), label="rejects")  # fmt: skip
    files = sorted(os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs)
    assert files == [
        "date=2023-03-14/part-r1-00000.parquet",
        "date=2023-03-14/part-r1-00001.parquet",
        "date=2023-03-15/part-r1-00000.parquet",
    ]
    table = ds.dataset(str(tmp_path), format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("source").to_pylist()) == ["a", "a", "b"]
    assert table.schema.field("at").type == ERROR_SCHEMA.field("at").type


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x" / "file.json"
    write_bytes_atomically(str(target), b"{}")
    assert target.read_bytes() == b"{}"
    with pytest.raises(RuntimeError):
        from newsbeam.transforms.sink.files import write_atomically

        def explode(handle):
            handle.write(b"half")
            raise RuntimeError("crash mid-write")

        write_atomically(str(target), explode)
    assert target.read_bytes() == b"{}"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]
