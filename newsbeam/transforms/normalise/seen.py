"""ReadCommittedIds: which of this run's ids the dataset already holds, so a run writes only what is new.

Only the id column is read (Parquet is columnar), file by file, through Beam's filesystems, and only
the ids this run also produced leave the reader (a vectorised `is_in` against a side input of the
run's ids). The cost grows with the dataset's size on disk, not with the dataset held in memory or
shuffled, and it works on gs:// and s3:// as on local disk.

A chunked run commits its chunks as it goes; ids found in its own files (`run_file_prefix`) come out
separately, so that a later chunk's copy counts as a duplicate within the run, not as already seen.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems


def committed_files_pattern(articles_dir: str) -> str:
    return FileSystems.join(articles_dir, "**.parquet")


def is_visible(path: str) -> bool:
    """Readers skip files and folders whose names start with `.` or `_`; so do we."""
    parts = path.replace("\\", "/").split("/")
    return not any(part.startswith((".", "_")) for part in parts[-3:])


def id_column(readable: fileio.ReadableFile) -> pa.ChunkedArray:
    """The `id` column of one article file (Parquet is columnar: nothing else is read)."""
    with readable.open(compression_type="uncompressed") as handle:
        return pq.read_table(handle, columns=["id"]).column("id")


class OpenArticleFiles(beam.PTransform):
    """PBegin -> a ReadableFile per visible Parquet file of the dataset (none for a new dataset)."""

    def __init__(self, articles_dir: str):
        super().__init__()
        self._pattern = committed_files_pattern(articles_dir)

    def expand(self, pbegin):
        return (
            pbegin
            | "Match" >> fileio.MatchFiles(self._pattern, empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "Open" >> fileio.ReadMatches()
            | "Visible" >> beam.Filter(lambda readable: is_visible(readable.metadata.path))
        )


EARLIER_RUNS = "earlier_runs"
THIS_RUN = "this_run"


class _CommittedAmong(beam.DoFn):
    """The ids of one file that are also among the run's candidate ids; `this_run` if the run wrote the file."""

    def __init__(self, run_file_prefix: str):
        self._candidates: pa.Array | None = None
        self._source = None
        self._run_file_prefix = run_file_prefix

    def process(self, readable: fileio.ReadableFile, candidates):
        if self._source is not candidates:  # the side input changes only between windows
            self._candidates, self._source = pa.array(list(candidates), pa.string()), candidates
        if len(self._candidates) == 0:
            return
        ids = id_column(readable)
        found = ids.filter(pc.is_in(ids, value_set=self._candidates)).to_pylist()
        name = FileSystems.split(readable.metadata.path)[1]
        if self._run_file_prefix and name.startswith(self._run_file_prefix):
            found = [beam.pvalue.TaggedOutput(THIS_RUN, article_id) for article_id in found]
        yield from found


class ReadCommittedIds(beam.PTransform):
    """PCollection of this run's ids -> those already in the dataset: `earlier_runs` (main) and `this_run`.

    `this_run` holds ids in files whose names start with `run_file_prefix` (earlier chunks of this run).
    """

    def __init__(self, articles_dir: str, run_file_prefix: str = ""):
        super().__init__()
        self._articles_dir = articles_dir
        self._run_file_prefix = run_file_prefix

    def expand(self, candidate_ids):
        return (
            candidate_ids.pipeline
            | "ArticleFiles" >> OpenArticleFiles(self._articles_dir)
            | "CommittedAmongRun"
            >> beam.ParDo(_CommittedAmong(self._run_file_prefix), beam.pvalue.AsList(candidate_ids)).with_outputs(
                THIS_RUN, main=EARLIER_RUNS
            )
        )
