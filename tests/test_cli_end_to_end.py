"""The whole `newsbeam ingest` command on real files and a real local HTTP server, read back with pyarrow and DuckDB."""

import datetime as dt
import json
import pathlib

import duckdb
import pyarrow.dataset as ds
import pytest
from http_server import Response, feed

import newsbeam
from newsbeam.cli import main

SAMPLES = pathlib.Path(newsbeam.__file__).parent / "data" / "samples"


def _articles(output: pathlib.Path) -> list[dict]:
    dataset = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive")
    return sorted(dataset.to_table().to_pylist(), key=lambda row: row["id"])


def _errors(output: pathlib.Path) -> list[dict]:
    if not (output / "errors").exists():
        return []
    return ds.dataset(str(output / "errors"), format="parquet", partitioning="hive").to_table().to_pylist()


def _summary(output: pathlib.Path) -> dict:
    (path,) = (output / "_runs").glob("*.json")
    return json.loads(path.read_text())


def _visible_files(output: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory):
    """One run over all bundled samples (a folder source), shared by the tests that read its output."""
    output = tmp_path_factory.mktemp("samples") / "out"
    assert main(["ingest", "--source", str(SAMPLES), "--output", str(output)]) == 0
    return output


def test_dutch_sample_in_reference_format(samples_run):
    (row,) = [r for r in _articles(samples_run) if r["source"].endswith("nl_dijkversterking.txt")]
    assert row["language"] == "nl" and row["language_confidence"] > 0.5
    assert row["published_precision"] == "month" and row["published_raw"] == "2023-03"
    assert row["published_at"] == dt.datetime(2023, 3, 1, tzinfo=dt.timezone.utc)
    assert row["text"].startswith("Rijkswaterstaat begint") and "date 2023-03" not in row["text"]
    assert "\n\n" in row["text"]  # paragraphs kept
    assert row["source_type"] == "text" and row["title"] is None and row["url"] is None
    found = {(e["text"], e["label"]) for e in row["entities"]}
    names = {("Afsluitdijk", "LOC"), ("Den Oever", "LOC"), ("Harlingen", "LOC"), ("Friesland", "LOC"), ("Wieringen", "LOC"),
             ("Mark Harbers", "PER"), ("Jan de Boer", "PER"), ("Marieke de Vries", "PER"), ("BAM", "ORG"),
             ("Van Oord", "ORG"), ("KNMI", "ORG"), ("Rijkswaterstaat", "ORG")}  # fmt: skip
    assert len(names & found) >= 6, sorted(found)  # the offline model finds most names with the right label
    assert row["ner_model"].startswith("newsbeam_ner-")
    assert -1.0 <= row["sentiment"] <= 1.0 and row["sentiment_label"] in ("negative", "neutral", "positive")
    assert row["schema_version"] == "1.2"
    partition = [f for f in _visible_files(samples_run) if "lang=nl" in f]
    assert len(partition) == 1 and partition[0].startswith("articles/date=2023-03-01/lang=nl/part-")


def test_feeds_in_four_languages(samples_run):
    rows = _articles(samples_run)
    assert len(rows) == 9
    assert sorted({r["language"] for r in rows}) == ["de", "en", "fr", "nl"]
    by_title = {r["title"]: r for r in rows if r["title"]}
    rotterdam = by_title["Port of Rotterdam reports record container traffic"]
    assert rotterdam["url"] == "https://example.org/world/rotterdam-record"  # tracking parameters removed
    assert "trackReader" not in rotterdam["text"] and "<p>" not in rotterdam["text"]
    assert rotterdam["published_at"] == dt.datetime(2023, 3, 14, 8, 30, tzinfo=dt.timezone.utc)
    assert rotterdam["authors"] == ["Sarah Thompson"] and rotterdam["feed_title"].startswith("newsbeam sample")
    lyon = by_title["Lyon inaugure une nouvelle ligne de tramway"]
    assert lyon["url"] == "https://example.org/fr/societe/lyon-tramway"  # fragment removed
    assert lyon["published_at"] == dt.datetime(2023, 3, 17, 7, 15, tzinfo=dt.timezone.utc)  # published beats updated
    hamburg = by_title["Hamburger Hafen investiert in Wasserstoff"]
    assert "Bürgermeister" in hamburg["text"]  # ISO-8859-1 feed decoded, not mojibake
    bahn = by_title["Tarifstreit bei der Deutschen Bahn geht weiter"]
    assert bahn["published_at"] == dt.datetime(2023, 3, 13, 17, 0, tzinfo=dt.timezone.utc)  # German RFC 822
    for row in rows:
        for entity in row["entities"]:
            field = row["title"] if entity["field"] == "title" else row["text"]
            assert field[entity["start"] : entity["end"]] == entity["text"]
    assert _errors(samples_run) == []


def test_run_summary_and_duckdb_query(samples_run):
    summary = _summary(samples_run)
    assert summary["totals"] == {"read": 9, "written": 9, "duplicates": 0, "seen": 0, "filtered": 0, "failed": 0}
    assert summary["versions"]["newsbeam"] == newsbeam.__version__
    rss = [s for s in summary["sources"] if s.endswith("en_world.rss")][0]
    assert summary["sources"][rss] == {"read": 3, "written": 3, "duplicates": 0, "seen": 0, "filtered": 0, "failed": 0}
    counts = duckdb.sql(
        f"SELECT lang, count(*) AS n FROM read_parquet('{samples_run}/articles/**/*.parquet', hive_partitioning=true) "
        "GROUP BY lang ORDER BY lang"
    ).fetchall()
    assert counts == [("de", 2), ("en", 3), ("fr", 3), ("nl", 1)]
    assert not [f for f in _visible_files(samples_run) if "/." in f or f.startswith(".")]


def test_feeds_over_http_with_failures_and_duplicates(tmp_path, http_server):
    rss = (SAMPLES / "en_world.rss").read_bytes()
    atom = (SAMPLES / "fr_societe.atom").read_bytes()
    http_server.route("/world.rss", feed(rss, etag='"w1"'))
    http_server.route("/fr.atom", feed(atom))
    http_server.route("/mirror/fr.atom", feed(atom))  # the same entries (global urn:uuid ids) from a second URL
    http_server.route("/page.html", Response(200, b"<!DOCTYPE html><html><body><p>Welcome</p></body></html>",
                                             {"Content-Type": "text/html"}))  # fmt: skip
    sources = [http_server.url(p) for p in ("/world.rss", "/fr.atom", "/mirror/fr.atom", "/missing.rss", "/page.html")]
    argv = ["ingest", "--output", str(tmp_path / "out")]
    for source in sources:
        argv += ["--source", source]
    assert main(argv) == 0
    rows = _articles(tmp_path / "out")
    assert len(rows) == 6  # 3 English + 3 French, the mirrored French entries once
    assert len({r["id"] for r in rows}) == 6
    errors = {(e["source"], e["stage"], e["reason"]) for e in _errors(tmp_path / "out")}
    assert errors == {(sources[3], "fetch", "http_404"), (sources[4], "parse", "not_a_feed")}
    summary = _summary(tmp_path / "out")
    assert summary["totals"] == {"read": 9, "written": 6, "duplicates": 3, "seen": 0, "filtered": 0, "failed": 2}
    assert http_server.requests_to("/world.rss")[0].headers["user-agent"].startswith("newsbeam/")


def test_syndicated_copies_are_kept_with_one_content_hash(tmp_path):
    body = "De gemeente Utrecht opent een nieuw station bij het Jaarbeursplein, meldt de NS."
    (tmp_path / "a.txt").write_text(f"title: Nieuw station\nurl: https://a.example/nieuws/1\n\n{body}\n")
    (tmp_path / "b.txt").write_text(f"title: Nieuw station\nurl: https://b.example/artikel/9\n\n{body}\n")
    assert main(["ingest", "--source", str(tmp_path / "*.txt"), "--source", str(tmp_path / "a.txt"), "--output", str(tmp_path / "out")]) == 0
    rows = _articles(tmp_path / "out")
    assert len(rows) == 2 and rows[0]["content_hash"] == rows[1]["content_hash"]  # a.txt given twice: once
    assert _summary(tmp_path / "out")["totals"]["duplicates"] == 1


def test_language_candidates_and_detection_mode_from_the_command_line(tmp_path):
    output = tmp_path / "out"
    assert main(["ingest", "--source", str(SAMPLES), "--output", str(output),
                 "--languages", "nl,EN,dut", "--language-detection", "fast"]) == 0  # fmt: skip
    rows = _articles(output)
    assert len(rows) == 9 and {r["language"] for r in rows} <= {"nl", "en", "und"}  # fr and de are not candidates
    (dutch,) = [r for r in rows if r["source"].endswith("nl_dijkversterking.txt")]
    assert dutch["language"] == "nl"
    for bad in (["--languages", "nl,xx"], ["--language-detection", "quick"]):
        with pytest.raises(SystemExit) as raised:
            main(["ingest", "--source", str(SAMPLES), "--output", str(tmp_path / "o"), *bad])
        assert raised.value.code == 2


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["ingest", "--source", str(tmp_path / "nope.txt"), "--output", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"newsbeam: error: source not found: {tmp_path / 'nope.txt'}"
    (tmp_path / "file").write_text("x")
    assert main(["ingest", "--source", str(SAMPLES), "--output", str(tmp_path / "file" / "o")]) == 2
    assert capsys.readouterr().err.startswith("newsbeam: error: output not writable")
    assert main(["ingest", "--output", str(tmp_path / "o")]) == 2
    assert main(["ingest", "--source", str(SAMPLES), "--output", str(tmp_path / "o"), "--ner-model", "nl=missing_model"]) == 2
    with pytest.raises(SystemExit) as raised:
        main(["ingest", "--source", str(SAMPLES)])  # --output missing: argparse usage error
    assert raised.value.code == 2


def _usage_error(capsys, *argv) -> str:
    """Run the command line, expect exit status 2 from its parser, and return its one line on stderr."""
    with pytest.raises(SystemExit) as raised:
        main([str(arg) for arg in argv])
    assert raised.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_mistyped_options_are_refused_before_anything_is_read_or_written(tmp_path, capsys):
    output = tmp_path / "out"
    ingest = ("ingest", "--source", SAMPLES, "--output", output)
    for typed, meant in [
        ("--dryrun", "--dry-run"),
        ("--chunksize=10", "--chunk-size"),
        ("--dry_run", "--dry-run"),  # Beam's own test flag of that name would run for real
        ("--dry", "--dry-run"),  # no abbreviations: `--run X` would otherwise set the run id
        ("--runer=DirectRunner", "--runner"),
        ("--direct_num_worker=2", "--direct_num_workers"),
    ]:
        line = _usage_error(capsys, *ingest, typed)
        assert line == f"newsbeam: error: unknown option {typed.split('=')[0]}: did you mean {meant}?", line
    line = _usage_error(capsys, *ingest, "--frobnicate", "3")
    assert line.startswith("newsbeam: error: unknown option --frobnicate ") and "did you mean" not in line
    assert "--poll-interval" in _usage_error(capsys, "ingest", "--streaming", "--source", "http://127.0.0.1:9/f.rss",
                                             "--output", output, "--poll-intervall", "5")  # fmt: skip
    assert "--min-files" in _usage_error(capsys, "compact", output, "--min-file", "3")
    assert "--json" in _usage_error(capsys, "models", "--jsn")
    assert not output.exists()


def test_an_unknown_log_level_is_a_usage_error(tmp_path, capsys):
    line = _usage_error(capsys, "ingest", "--source", SAMPLES, "--output", tmp_path / "out", "--log-level", "verbose")
    assert line.startswith("newsbeam: error: argument --log-level: invalid choice: 'VERBOSE'")
    assert not (tmp_path / "out").exists()


def test_beam_pipeline_options_still_pass_through():
    from newsbeam.cli import _parse_command_line

    beam = ["--runner=DirectRunner", "--direct_num_workers", "2", "--direct_running_mode=multi_processing",
            "--setup_file", "./setup.py", "--experiments=a", "--experiments=b", "--temp_location=gs://b/tmp",
            "--flink_master=localhost:8081", "--sdk_worker_parallelism=2", "--job_name=nightly"]  # fmt: skip
    args, beam_args = _parse_command_line(["ingest", "--source", "x", "--output", "o", "--dry-run", *beam])
    assert args.dry_run and args.output == "o" and beam_args == beam


def test_a_run_id_is_a_plain_file_name_token(tmp_path, capsys):
    output = tmp_path / "out"
    for run_id in ("x/../../..", "..", ".hidden", "a b", "", "x" * 101):
        line = _usage_error(capsys, "ingest", "--source", SAMPLES, "--output", output, "--run-id", run_id)
        assert line.startswith("newsbeam: error: argument --run-id: not a safe run id"), line
    assert not output.exists()
    from newsbeam.cli import _parse_command_line

    argv = ["ingest", "--source", "x", "--output", "o", "--run-id", "nightly-2026.01_a"]
    assert _parse_command_line(argv)[0].run_id == "nightly-2026.01_a"
