"""`newsbeam compact`: rewrite a partition's many small files into few large ones, without losing a row.

On a local disk the new partition folder is built in a hidden working folder under `_runs/` (on the
same filesystem, but outside `articles/`, where readers' `**` globs would reach it, hidden or not) and
swapped with the old one by one atomic `renameat2(RENAME_EXCHANGE)`, so a reader lists either all old
files or all new ones; the old folder, now in `_runs/`, is deleted after. A compaction that dies leaves only that
working folder, which the next run or compaction deletes (`remove_temporaries`). Object stores have no
such swap: there the new files appear first and the old ones are deleted right after, so a reader
listing in that moment can see rows twice (documented in the README).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import os
import shutil
import uuid
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from newsbeam.pipelines.lock import COMPACTION_FOLDER_PREFIX, OutputLock, remove_temporaries
from newsbeam.transforms.normalise.seen import committed_files_pattern, is_visible
from newsbeam.transforms.sink.files import normalise_location, write_atomically
from newsbeam.transforms.sink.run_summary import runs_dir

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    """Linux's renameat2 from the C library; None where it is not available."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return getattr(libc, "renameat2", None)


def _exchange(a: str, b: str) -> None:
    """Atomically swap two local paths."""
    result = _renameat2()(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"renameat2({a}, {b}): {os.strerror(errno)}")


def partition_files(articles_dir: str) -> dict[str, list[str]]:
    """Visible Parquet files grouped by their partition folder."""
    matches = FileSystems.match([committed_files_pattern(articles_dir)])[0].metadata_list
    grouped: dict[str, list[str]] = defaultdict(list)
    for metadata in matches:
        if is_visible(metadata.path):
            grouped[FileSystems.split(metadata.path)[0]].append(metadata.path)
    return {folder: sorted(paths) for folder, paths in grouped.items()}


def _read(paths: list[str]) -> pa.Table:
    tables = []
    for path in paths:
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            tables.append(pq.read_table(handle))
    return pa.concat_tables(tables, promote_options="default").sort_by("id")


def _write_chunks(table: pa.Table, folder: str, prefix: str, rows_per_file: int) -> list[str]:
    paths = []
    for number, start in enumerate(range(0, table.num_rows, rows_per_file)):
        chunk = table.slice(start, rows_per_file)
        path = FileSystems.join(folder, f"{prefix}-{number:05d}.parquet")
        write_atomically(path, lambda handle, chunk=chunk: pq.write_table(chunk, handle, compression="zstd"))
        paths.append(path)
    return paths


def _carry_over(folder: str, replaced: list[str], staging: str) -> None:
    """Give the new folder whatever the old one holds besides the files being replaced (linked, so that
    the old folder keeps it too until the swap)."""
    for name in os.listdir(folder):
        source, target = os.path.join(folder, name), os.path.join(staging, name)
        if source in replaced or os.path.lexists(target):
            continue
        if os.path.isdir(source):
            os.rename(source, target)
        else:
            os.link(source, target)


def _swap_in(folder: str, replaced: list[str], staging: str, table: pa.Table, prefix: str, rows_per_file: int) -> None:
    """Build the new partition folder at `staging`, swap it with `folder`, then delete the old one."""
    os.makedirs(staging)
    _write_chunks(table, staging, prefix, rows_per_file)
    _carry_over(folder, replaced, staging)
    _exchange(staging, folder)
    shutil.rmtree(staging)  # the old folder, out of readers' reach since the swap


def compact_partition(folder: str, paths: list[str], *, rows_per_file: int, stamp: str, staging: str) -> int:
    """Replace `paths` in `folder` by files of up to `rows_per_file` rows; returns the row count.

    `staging` is a path, free and on the same local filesystem, where the new folder is built; unused on
    object stores and where renameat2 is missing.
    """
    table = _read(paths)
    prefix = f"part-compacted-{stamp}"
    if "://" not in folder and _renameat2() is not None:
        _swap_in(folder, paths, staging, table, prefix, rows_per_file)
        return table.num_rows
    _write_chunks(table, folder, prefix, rows_per_file)
    FileSystems.delete(paths)
    return table.num_rows


def _staging_folder(output: str, stamp: str, partition: str) -> str:
    """Where compaction `stamp` builds a partition's new folder: hidden, in `_runs/`, one per partition."""
    return FileSystems.join(runs_dir(output), f"{COMPACTION_FOLDER_PREFIX}{stamp}-{partition.replace('/', '-')}")


def compact(output: str, *, partitions: list[str] | None = None, rows_per_file: int = 500_000,
            min_files: int = 2, stale_after: dt.timedelta = dt.timedelta(minutes=10)) -> dict:
    """Compact every partition (or those named like `date=2023-03-01/lang=nl`) with at least `min_files` files."""
    # Unique per compaction: a query that listed the old files and opens them after the swap must find
    # nothing rather than a new file of the same name.
    stamp = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    output = normalise_location(output)  # a relative path must name the files the listing returns
    articles_dir = FileSystems.join(output, "articles")
    wanted = {partition.strip("/") for partition in partitions or []}
    report = {"partitions": {}, "files_before": 0, "files_after": 0, "rows": 0}
    with OutputLock(output, f"compact-{stamp}", stale_after=stale_after):
        remove_temporaries(output)
        for folder, paths in sorted(partition_files(articles_dir).items()):
            relative = folder[len(articles_dir) :].strip("/")
            if (wanted and relative not in wanted) or len(paths) < min_files:
                continue
            rows = compact_partition(folder, paths, rows_per_file=rows_per_file, stamp=stamp,
                                     staging=_staging_folder(output, stamp, relative))  # fmt: skip
            after = len(partition_files(folder).get(folder.rstrip("/"), []))
            report["partitions"][relative] = {"files_before": len(paths), "files_after": after, "rows": rows}
            report["files_before"] += len(paths)
            report["files_after"] += after
            report["rows"] += rows
    return report
