"""Atomic file writes on any Beam filesystem: write under a hidden temporary name, then rename into place.

A temporary's name starts with `.` (hidden from pyarrow, Spark and Polars directory listings) and ends with
`.tmp`, so it never matches the globs readers use either (`articles/**/*.parquet`, which DuckDB and Polars
apply to hidden names too).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from apache_beam.io.filesystems import FileSystems

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".tmp"


def temporary_name(path: str) -> str:
    """A sibling of `path` that readers ignore (dot prefix, `.tmp` suffix) and no other writer picks."""
    directory, name = FileSystems.split(path)
    return FileSystems.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{name}{TEMP_SUFFIX}")


def write_atomically(path: str, write: Callable, *, mime_type: str = "application/octet-stream") -> None:
    """Call `write(handle)` on a temporary file, then rename it to `path`; on failure the temporary is removed."""
    temporary = temporary_name(path)
    try:
        with FileSystems.create(temporary, mime_type=mime_type, compression_type="uncompressed") as handle:
            write(handle)
        FileSystems.rename([temporary], [path])
    except BaseException:
        if FileSystems.exists(temporary):
            FileSystems.delete([temporary])
        raise


def write_bytes_atomically(path: str, data: bytes, *, mime_type: str = "application/octet-stream") -> None:
    write_atomically(path, lambda handle: handle.write(data), mime_type=mime_type)


def normalise_location(path: str) -> str:
    """A local path made absolute and normal, so that `out`, `./out/` and `x/../out` name one folder one way
    and paths built from it equal those Beam's local filesystem splits off (absolute); a URL unchanged."""
    return path if "://" in path else os.path.abspath(path)
