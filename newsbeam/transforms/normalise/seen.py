"""ReadCommittedIds: the `id` column of every visible article file, so a run writes only what is new.

Only the id column is read (Parquet is columnar), file by file, through Beam's filesystems: the seen-set
never has to fit one worker's memory, and it works on gs:// and s3:// as on local disk.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems


def committed_files_pattern(articles_dir: str) -> str:
    return FileSystems.join(articles_dir, "**.parquet")


def is_visible(path: str) -> bool:
    """Readers skip files and folders whose names start with `.` or `_`; so do we."""
    parts = path.replace("\\", "/").split("/")
    return not any(part.startswith((".", "_")) for part in parts[-3:])


class _IdsOfFile(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        if not is_visible(readable.metadata.path):
            return
        with readable.open(compression_type="uncompressed") as handle:
            table = pq.read_table(handle, columns=["id"])
        yield from table.column("id").to_pylist()


class ReadCommittedIds(beam.PTransform):
    """PBegin -> the ids already in the dataset (empty for a new dataset)."""

    def __init__(self, articles_dir: str):
        super().__init__()
        self._pattern = committed_files_pattern(articles_dir)

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchArticleFiles" >> fileio.MatchFiles(self._pattern, empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "OpenArticleFiles" >> fileio.ReadMatches()
            | "ReadIds" >> beam.ParDo(_IdsOfFile())
        )
