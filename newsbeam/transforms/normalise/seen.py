"""ReadCommittedIds: which of this run's ids and URLs the dataset already holds, so a run writes only what is new.

Only the id and url columns are read (Parquet is columnar), file by file, through Beam's filesystems, and
only the ids and URLs this run also produced leave the reader (a vectorised `is_in` against side inputs of
the run's ids and URLs). The cost grows with the dataset's size on disk, not with the dataset held in memory or
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


def read_columns(readable: fileio.ReadableFile, columns: list[str]) -> pa.Table:
    """Some columns of one article file (Parquet is columnar: nothing else is read)."""
    with readable.open(compression_type="uncompressed") as handle:
        return pq.read_table(handle, columns=columns)


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
EARLIER_RUNS_URLS = "earlier_runs_urls"
THIS_RUN_URLS = "this_run_urls"


class _CandidateSet:
    """A side input's values as a pyarrow array, converted once per side input (it changes only between windows)."""

    def __init__(self):
        self._array: pa.Array | None = None
        self._source = None

    def of(self, values) -> pa.Array:
        if self._source is not values:
            self._array, self._source = pa.array(list(values), pa.string()), values
        return self._array


def _found(column: pa.ChunkedArray, candidates: pa.Array) -> list[str]:
    return column.filter(pc.is_in(column, value_set=candidates)).to_pylist() if len(candidates) else []


class _CommittedAmong(beam.DoFn):
    """The ids and URLs of one file that are also among the run's candidates; `this_run*` if the run wrote the file."""

    def __init__(self, run_file_prefix: str):
        self._run_file_prefix = run_file_prefix
        self._ids, self._urls = _CandidateSet(), _CandidateSet()

    def process(self, readable: fileio.ReadableFile, candidate_ids, candidate_urls):
        ids, urls = self._ids.of(candidate_ids), self._urls.of(candidate_urls)
        if len(ids) == 0 and len(urls) == 0:
            return
        table = read_columns(readable, ["id", "url"])
        name = FileSystems.split(readable.metadata.path)[1]
        own = bool(self._run_file_prefix) and name.startswith(self._run_file_prefix)
        yield from (beam.pvalue.TaggedOutput(THIS_RUN, i) if own else i for i in _found(table.column("id"), ids))
        url_tag = THIS_RUN_URLS if own else EARLIER_RUNS_URLS
        yield from (beam.pvalue.TaggedOutput(url_tag, url) for url in _found(table.column("url"), urls))


class ReadCommittedIds(beam.PTransform):
    """This run's article rows -> their ids and URLs already in the dataset.

    Outputs: `earlier_runs` (main) and `this_run` ids, `earlier_runs_urls` and `this_run_urls`; `this_run*`
    hold what files whose names start with `run_file_prefix` hold (earlier chunks of this run).
    """

    def __init__(self, articles_dir: str, run_file_prefix: str = ""):
        super().__init__()
        self._articles_dir = articles_dir
        self._run_file_prefix = run_file_prefix

    def expand(self, rows):
        ids = rows | "RunIds" >> beam.Map(lambda row: row["id"])
        urls = rows | "RunUrls" >> beam.FlatMap(lambda row: [row["url"]] if row["url"] else [])
        return (
            rows.pipeline
            | "ArticleFiles" >> OpenArticleFiles(self._articles_dir)
            | "CommittedAmongRun"
            >> beam.ParDo(
                _CommittedAmong(self._run_file_prefix), beam.pvalue.AsList(ids), beam.pvalue.AsList(urls)
            ).with_outputs(THIS_RUN, EARLIER_RUNS_URLS, THIS_RUN_URLS, main=EARLIER_RUNS)
        )
