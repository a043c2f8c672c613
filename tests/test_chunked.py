"""Chunked batch runs: staged reads, and a chunked run that writes what one pipeline writes."""

import json
import pathlib

import apache_beam as beam
import pytest
import pyarrow.dataset as ds
from apache_beam.testing.util import assert_that, equal_to
from http_server import feed

import newsbeam
from newsbeam.cli import main
from newsbeam.transforms.sources.read import ERRORS, RECORDS, ReadSources
from newsbeam.transforms.sources.specs import SourceSpec
from newsbeam.transforms.sources.staging import ReadStagedChunk, StageReads, read_manifest, staged_files

SAMPLES = pathlib.Path(newsbeam.__file__).parent / "data" / "samples"

STORIES = [
    ("Amsterdam", "De gemeenteraad van Amsterdam stemde dinsdag in met het nieuwe woonplan van wethouder De Vries."),
    ("Berlin", "Die Berliner Verkehrsbetriebe kündigten am Montag neue Fahrpläne für die Straßenbahn an."),
    ("Paris", "La mairie de Paris a présenté mercredi un plan pour les pistes cyclables du centre-ville."),
    ("London", "Transport for London said on Friday that the Elizabeth line would run all night at weekends."),
    ("Utrecht", "De provincie Utrecht wil meer geld voor fietspaden tussen Amersfoort en Veenendaal."),
    ("Hamburg", "Der Hamburger Hafen meldete im dritten Quartal deutlich mehr Containerumschlag als im Vorjahr."),
    ("Lyon", "Le conseil de la métropole de Lyon a voté jeudi le budget des transports en commun."),
]


def _write_jsonl(path: pathlib.Path) -> pathlib.Path:
    """Seven articles, a malformed line, and a later copy of the first article (same URL)."""
    lines = [json.dumps({"url": f"https://news.example/{city.lower()}", "title": city, "text": text,
                         "published": f"2024-05-0{n + 1}T08:00:00Z"}) for n, (city, text) in enumerate(STORIES)]  # fmt: skip
    lines.insert(3, "{not json")
    lines.append(json.dumps({"url": "https://news.example/amsterdam", "title": "Amsterdam", "text": STORIES[0][1],
                             "published": "2024-05-01T08:00:00Z"}))  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _articles(output: pathlib.Path) -> list[dict]:
    table = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def _summary(output: pathlib.Path) -> dict:
    (path,) = (output / "_runs").glob("*.json")
    return json.loads(path.read_text())


def test_staged_chunks_hold_every_record_and_dead_letter_once(tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl")
    staging = tmp_path / "_runs"
    with beam.Pipeline() as pipeline:
        read = pipeline | beam.Create([SourceSpec(str(source))]) | ReadSources(spread_records=False)
        read | StageReads(str(staging), "run-1", chunk_size=3)
    chunks = read_manifest(str(staging), "run-1")
    assert [n for _, n in chunks] and all(n <= 3 for _, n in chunks)
    assert sum(n for _, n in chunks) == 9  # 8 records + 1 dead letter

    with beam.Pipeline() as pipeline:
        reads = [pipeline | f"Chunk{n}" >> ReadStagedChunk(path) for n, (path, _) in enumerate(chunks)]
        urls = [read[RECORDS] for read in reads] | "Records" >> beam.Flatten() | beam.Map(lambda r: r["url"])
        errors = [read[ERRORS] for read in reads] | "Errors" >> beam.Flatten() | beam.Map(lambda e: (e["stage"], e["reason"]))
        expected = [f"https://news.example/{city.lower()}" for city, _ in STORIES] + ["https://news.example/amsterdam"]
        assert_that(urls, equal_to(expected), label="AllRecords")
        assert_that(errors, equal_to([("parse", "bad_json")]), label="AllErrors")
    assert len(staged_files(str(staging), "run-1")) == len(chunks) + 1  # chunks + manifest


def test_chunked_run_writes_what_one_pipeline_writes(tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl")
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    assert main(["ingest", "--source", str(source), "--source", str(SAMPLES / "nl_dijkversterking.txt"),
                 "--output", str(whole), "--chunk-size", "0"]) == 0  # fmt: skip
    assert main(["ingest", "--source", str(source), "--source", str(SAMPLES / "nl_dijkversterking.txt"),
                 "--output", str(chunked), "--chunk-size", "3"]) == 0  # fmt: skip

    def comparable(rows):
        return [{k: v for k, v in row.items() if k not in ("ingested_at", "run_id")} for row in rows]

    assert comparable(_articles(chunked)) == comparable(_articles(whole))
    assert len(_articles(chunked)) == 8
    one, many = _summary(whole), _summary(chunked)
    # The later copy of the Amsterdam story is a duplicate within the run, also when an earlier chunk wrote it.
    assert many["totals"] == one["totals"] == {"read": 9, "written": 8, "duplicates": 1, "seen": 0, "filtered": 0,
                                                "failed": 1}  # fmt: skip
    assert many["sources"] == one["sources"] and many["partitions"] == one["partitions"]
    assert (one["chunks"], many["chunks"], many["chunk_size"]) == (0, 4, 3)  # 10 staged items in chunks of 3
    names = [p.name for p in (chunked / "articles").rglob("*.parquet")]
    assert names and all(f"part-{many['run_id']}-c0000" in name for name in names)
    leftovers = [p for p in chunked.rglob(".*") if p.is_file()]
    assert leftovers == []  # staged chunks, manifest and pending counts are gone

    # A re-run over the same input finds every copy in the dataset (earlier runs' files): seen, as without chunks.
    assert main(["ingest", "--source", str(source), "--output", str(chunked), "--chunk-size", "3"]) == 0
    rerun = max((chunked / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    assert json.loads(rerun.read_text())["totals"] == {"read": 8, "written": 0, "duplicates": 0, "seen": 8,
                                                        "filtered": 0, "failed": 1}  # fmt: skip


def test_chunked_run_reads_feed_urls_in_a_pass_of_their_own(tmp_path, http_server):
    http_server.route("/world.rss", feed((SAMPLES / "en_world.rss").read_bytes(), etag='"w1"'))
    source = _write_jsonl(tmp_path / "in.jsonl")
    output = tmp_path / "out"
    assert main(["ingest", "--source", http_server.url("/world.rss"), "--source", str(source),
                 "--output", str(output), "--chunk-size", "4"]) == 0  # fmt: skip
    summary = _summary(output)
    assert summary["totals"]["written"] == 3 + 7 and summary["chunks"] == 3
    assert summary["feeds"][http_server.url("/world.rss")]["etag"] == '"w1"'  # the feed pass saved its state
    assert any("-c00000-" in p.name for p in (output / "articles").rglob("*.parquet"))


def test_chunks_by_default_only_where_the_pipeline_runs_in_this_process():
    from newsbeam.cli import DEFAULT_CHUNK_SIZE, UsageError, _beam_options, _chunk_size, _parser

    def chunk_size(*argv):
        args, beam_args = _parser().parse_known_args(["ingest", "--source", "x", "--output", "o", *argv])
        return _chunk_size(args, _beam_options(args, beam_args))

    assert chunk_size() == DEFAULT_CHUNK_SIZE
    assert chunk_size("--direct_num_workers=2", "--direct_running_mode=multi_threading") == DEFAULT_CHUNK_SIZE
    assert chunk_size("--direct_num_workers=2", "--direct_running_mode=multi_processing") == 0
    assert chunk_size("--runner=PortableRunner") == 0
    assert chunk_size("--runner=PortableRunner", "--chunk-size", "500") == 500
    assert chunk_size("--chunk-size", "0") == 0
    with pytest.raises(UsageError):
        chunk_size("--chunk-size", "-1")


def test_a_run_that_fails_in_a_later_chunk_keeps_earlier_chunks_and_leaves_no_staged_files(tmp_path, monkeypatch):
    import newsbeam.pipelines.ingest as ingest

    source = _write_jsonl(tmp_path / "in.jsonl")
    output = tmp_path / "out"
    run_pipeline = ingest._run_pipeline

    def failing_second_chunk(config, options, reader=None, file_tag=""):
        if file_tag == "c00002":
            raise RuntimeError("worker lost")
        return run_pipeline(config, options, reader, file_tag)

    monkeypatch.setattr(ingest, "_run_pipeline", failing_second_chunk)
    assert main(["ingest", "--source", str(source), "--output", str(output), "--chunk-size", "3"]) == 1
    first = _articles(output)
    assert 0 < len(first) <= 3  # the first chunk was committed, nothing of the second
    assert [p for p in output.rglob(".*") if p.is_file() and ".staged-" in p.name] == []

    monkeypatch.setattr(ingest, "_run_pipeline", run_pipeline)
    assert main(["ingest", "--source", str(source), "--output", str(output), "--chunk-size", "3"]) == 0
    assert len(_articles(output)) == 7 and len({row["id"] for row in _articles(output)}) == 7
    totals = _summary_of_last_run(output)["totals"]
    assert totals["written"] == 7 - len(first) and totals["seen"] >= len(first)


def _summary_of_last_run(output: pathlib.Path) -> dict:
    return json.loads(max((output / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
