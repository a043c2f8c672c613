"""Chunked batch runs: file sources read once into chunks, then the ingest pipeline run once per chunk.

Why: the in-process DirectRunner holds each stage's whole input and output in memory, so a run's peak
memory grows with its input. Run per chunk, it stays that of a run over `chunk_size` articles. The run
stays one run: one run id and summary, and each chunk's ids are checked against what earlier chunks
committed (a later copy counts as a duplicate). Feed URLs are read in a pass of their own: a feed is
small, and its state is saved with the articles it gave.
"""

from __future__ import annotations

import posixpath

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.pipelines.runner import new_pipeline, run_to_completion
from newsbeam.transforms.sources.read import ReadSources
from newsbeam.transforms.sources.specs import SourceSpec
from newsbeam.transforms.sources.staging import StageReads, read_manifest, staged_files


def stage_file_sources(specs: list[SourceSpec], directory: str, run_id: str, chunk_size: int,
                       options: PipelineOptions, output: str | None = None):
    """Read every file source (none under `output`) into staged chunks under `directory`; returns the
    pipeline result and the (chunk path, items) of every chunk, in a stable order."""
    pipeline = new_pipeline(options)
    read = pipeline | "Sources" >> beam.Create(specs) | "Read" >> ReadSources(spread_records=False, exclude=output)
    read | "Stage" >> StageReads(directory, run_id, chunk_size)
    return run_to_completion(pipeline), read_manifest(directory, run_id)


def delete_staged(directory: str, run_id: str) -> None:
    """Remove the run's chunks and manifest (also those of attempts that failed and were retried)."""
    paths = staged_files(directory, run_id)
    if paths:
        FileSystems.delete(paths)


def chunk_counts_path(counts_path: str, number: int) -> str:
    """The pending counts file of one chunk's pass, next to the run's own."""
    root, extension = posixpath.splitext(counts_path)
    return f"{root}-{number:05d}{extension}"


def chunk_file_tag(number: int) -> str:
    """What a chunk's pass adds to its file names (`part-<run-id>-c00001-00000.parquet`)."""
    return f"c{number:05d}"
