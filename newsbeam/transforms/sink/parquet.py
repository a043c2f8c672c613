"""WritePartitionedParquet: rows grouped per Hive partition, written in bounded files that appear atomically.

Not `fileio.WriteToFiles`: with a destination containing `/` it leaves files in a temporary folder on the
local filesystem (Beam #21970). Each partition's rows are sorted by id and cut into fixed-size files named
by run, so a retried bundle rewrites the same names with the same rows instead of adding copies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from newsbeam.errors import dead_letter
from newsbeam.transforms.sink.files import write_atomically

WRITTEN = "written"
ERRORS = "errors"


def _conforming_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """The rows as a table of `schema`; raises when a value has the wrong type or a required value is missing."""
    table = pa.Table.from_pylist(rows, schema=schema)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"required column {field.name!r} is null")
    return table


def _rows_to_table(rows: list[dict], schema: pa.Schema) -> tuple[pa.Table, list[tuple[dict, str]]]:
    """The rows as a table; rows that do not fit the schema are returned separately with the reason."""
    try:
        return _conforming_table(rows, schema), []
    except (pa.ArrowException, TypeError, ValueError):
        good, bad = [], []
        for row in rows:
            try:
                _conforming_table([row], schema)
                good.append(row)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                bad.append((row, f"{type(exc).__name__}: {exc}"))
        return pa.Table.from_pylist(good, schema=schema), bad


def write_partition_files(base_path: str, partition: str, rows: Iterable[dict], schema: pa.Schema, file_prefix: str,
                          max_rows_per_file: int, sort_key: str):
    """Write one partition's rows as `base_path/<partition>/<file_prefix>-NNNNN.parquet`, sorted by `sort_key`.

    Yields what `WritePartitionedParquet` outputs: (partition, path, rows) per file, `written` (source, rows)
    and `errors` (rows that do not fit the schema). Shared with the streaming writer, which names its files
    per window and bundle.
    """
    rows = sorted(rows, key=lambda row: row[sort_key] or "")
    for number, start in enumerate(range(0, len(rows), max_rows_per_file)):
        table, rejected = _rows_to_table(rows[start : start + max_rows_per_file], schema)
        for row, reason in rejected:
            yield beam.pvalue.TaggedOutput(
                ERRORS, dead_letter(row.get("source", "?"), "write", "schema_mismatch", reason, row.get("id"))
            )
        if table.num_rows == 0:
            continue
        path = FileSystems.join(base_path, partition, f"{file_prefix}-{number:05d}.parquet")
        write_atomically(path, lambda handle: pq.write_table(table, handle, compression="zstd"))
        sources = Counter(table.column("source").to_pylist()) if "source" in table.column_names else {}
        for source, count in sources.items():
            yield beam.pvalue.TaggedOutput(WRITTEN, (source, count))
        yield partition, path, table.num_rows


class _WritePartition(beam.DoFn):
    def __init__(self, base_path: str, schema: pa.Schema, file_prefix: str, max_rows_per_file: int, sort_key: str):
        self._base_path = base_path
        self._schema = schema
        self._prefix = file_prefix
        self._max_rows = max_rows_per_file
        self._sort_key = sort_key

    def process(self, element):
        partition, rows = element
        yield from write_partition_files(self._base_path, partition, rows, self._schema, self._prefix,
                                         self._max_rows, self._sort_key)  # fmt: skip


class WritePartitionedParquet(beam.PTransform):
    """Rows (dicts) -> `base_path/<partition>/<file_prefix>-NNNNN.parquet`.

    Outputs: main (partition, path, rows) per file, `written` (source, rows) and `errors` (dead letters).

    `partition` maps a row to its relative Hive path (`date=2022-09-01/lang=nl`); it must only return
    validated values.
    """

    def __init__(self, base_path: str, schema: pa.Schema, partition: Callable[[dict], str], file_prefix: str,
                 *, max_rows_per_file: int = 50_000, sort_key: str = "id"):
        super().__init__()
        self._base_path = base_path
        self._schema = schema
        self._partition = partition
        self._file_prefix = file_prefix
        self._max_rows = max_rows_per_file
        self._sort_key = sort_key

    def expand(self, rows):
        partition = self._partition
        return (
            rows
            | "KeyByPartition" >> beam.Map(lambda row: (partition(row), row))
            | "GroupByPartition" >> beam.GroupByKey()
            | "WriteFiles"
            >> beam.ParDo(
                _WritePartition(self._base_path, self._schema, self._file_prefix, self._max_rows, self._sort_key)
            ).with_outputs(WRITTEN, ERRORS, main="files")
        )
