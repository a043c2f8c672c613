"""Staged reads: what ReadSources produced from files, parked in hidden chunk files of a bounded size.

The in-process DirectRunner keeps every stage's whole input and output in memory, so one run over a
large file needs memory in proportion to it. A chunked run (`pipelines/chunked.py`) reads its file
sources once into chunks here, without a shuffle, then runs the rest of the pipeline once per chunk.

A chunk holds framed, pickled `(kind, value)` items: a raw record, or a dead letter of the read step.
Chunk files are private to one run: hidden (`.staged-<run-id>-...`), listed in a manifest only once
their bundle is committed, and deleted when the run ends (or by the next run's temporaries sweep).
"""

from __future__ import annotations

import json
import pickle
import struct
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from newsbeam.transforms.sink.files import write_bytes_atomically
from newsbeam.transforms.sources.read import ERRORS, FEED_STATES, RECORDS

RECORD, ERROR = "record", "error"
_FRAME = struct.Struct(">Q")


def staged_prefix(directory: str, run_id: str) -> str:
    return FileSystems.join(directory, f".staged-{run_id}-")


def manifest_path(directory: str, run_id: str) -> str:
    return f"{staged_prefix(directory, run_id)}manifest.json"


def staged_files(directory: str, run_id: str) -> list[str]:
    """Every staged file of the run, manifest included (what the end of the run deletes)."""
    matches = FileSystems.match([f"{staged_prefix(directory, run_id)}*"])[0].metadata_list
    return sorted(m.path for m in matches)


def read_manifest(directory: str, run_id: str) -> list[tuple[str, int]]:
    """(chunk path, items) of every committed chunk, in a stable order."""
    with FileSystems.open(manifest_path(directory, run_id), compression_type="uncompressed") as handle:
        return [(path, n) for path, n in json.loads(handle.read().decode("utf-8"))]


class _WriteChunks(beam.DoFn):
    """Items -> chunk files of at most `chunk_size` items; outputs (path, items) per closed chunk."""

    def __init__(self, directory: str, run_id: str, chunk_size: int):
        self._prefix = staged_prefix(directory, run_id)
        self._chunk_size = chunk_size

    def start_bundle(self):
        self._handle, self._path, self._count = None, None, 0

    def process(self, item):
        if self._handle is None:
            self._path = f"{self._prefix}{uuid.uuid4().hex}.bin"
            self._handle = FileSystems.create(self._path, compression_type="uncompressed")
        payload = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._handle.write(_FRAME.pack(len(payload)))
        self._handle.write(payload)
        self._count += 1
        if self._count >= self._chunk_size:
            yield self._close()

    def finish_bundle(self):
        if self._handle is not None:
            yield GlobalWindows.windowed_value(self._close())

    def _close(self) -> tuple[str, int]:
        self._handle.close()
        closed = (self._path, self._count)
        self._handle, self._path, self._count = None, None, 0
        return closed


def _write_manifest(chunks: list[tuple[str, int]], path: str) -> None:
    write_bytes_atomically(path, json.dumps(sorted(chunks)).encode("utf-8"), mime_type="application/json")


class StageReads(beam.PTransform):
    """ReadSources' output -> chunk files of <= `chunk_size` items and their manifest (written last).

    Takes the dict ReadSources returns; only records and dead letters are staged (file sources have no
    feed states). Reads and writes stay in one fused stage, so no step holds the whole input.
    """

    def __init__(self, directory: str, run_id: str, chunk_size: int):
        super().__init__()
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._directory, self._run_id, self._chunk_size = directory, run_id, chunk_size

    def expand(self, read):
        records = read[RECORDS] | "TagRecords" >> beam.Map(lambda record: (RECORD, record))
        errors = read[ERRORS] | "TagErrors" >> beam.Map(lambda letter: (ERROR, letter))
        return (
            (records, errors)
            | "Items" >> beam.Flatten()
            | "WriteChunks" >> beam.ParDo(_WriteChunks(self._directory, self._run_id, self._chunk_size))
            | "AllChunks" >> beam.combiners.ToList()
            | "WriteManifest" >> beam.Map(_write_manifest, manifest_path(self._directory, self._run_id))
        )


def _read_items(path: str):
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        while header := handle.read(_FRAME.size):
            (size,) = _FRAME.unpack(header)
            yield pickle.loads(handle.read(size))


class _ReadChunk(beam.DoFn):
    def process(self, path: str):
        for kind, value in _read_items(path):
            yield value if kind == RECORD else beam.pvalue.TaggedOutput(ERRORS, value)


class ReadStagedChunk(beam.PTransform):
    """PBegin -> the same dict as ReadSources (`records`, `errors`, no `feed_states`) from one staged chunk."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, pbegin):
        read = (
            pbegin
            | "Chunk" >> beam.Create([self._path])
            | "ReadChunk" >> beam.ParDo(_ReadChunk()).with_outputs(ERRORS, main=RECORDS)
        )
        # As in ReadSources: spread one chunk's records so that every worker normalises some of them.
        records = read[RECORDS] | "SpreadRecords" >> beam.Reshuffle()
        no_states = pbegin | "NoFeedStates" >> beam.Create([])
        return {RECORDS: records, ERRORS: read[ERRORS], FEED_STATES: no_states}
