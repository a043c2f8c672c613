"""`newsbeam ingest` over a folder where a bad record sits next to good ones: each bad record is one dead letter,
the run and the next run succeed, and every good record is written (read back with pyarrow)."""

import json
import os
import pathlib
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIG_TEXT_CHARS = 10_000_001  # over libxml2's 10,000,000-byte limit for one text node
STORY = "The harbour board approved a new quay for container ships on Monday, the port authority said."


def _jsonl_lines() -> list[str]:
    """Good lines 1 and 8; every line between them is bad in its own way."""
    good = [{"id": "good-1", "title": "Quay approved", "text": STORY},
            {"id": "good-8", "title": "Bridge reopened", "text": "The old bridge over the river reopened to traffic after repairs."}]
    return [
        json.dumps(good[0]),
        '{"id": "surrogate-text", "title": "Broken text", "text": "A lone \\ud800 in the text."}',
        '{"id": "surrogate-title", "title": "Broken \\udc00 title", "text": "A fine text with a broken title."}',
        '{"id": "surrogate-author", "text": "A fine text with a broken author.", "authors": ["Ann \\ud83d"]}',
        "[" * 100_000 + "]" * 100_000,
        '{"id": "number-text", "text": 42}',
        '{"id": 17, "text": ""}',
        json.dumps(good[1]),
    ]


def _feed(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<item><guid>{guid}</guid><title>{title}</title><description>{text}</description></item>"
                      for guid, title, text in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Port news</title>{entries}</channel></rss>'.encode()


def _page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>Page</title></head><body><article><h1>Council news</h1>{body}</article></body></html>".encode()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of the same folder; returns the output folder."""
    folder = tmp_path_factory.mktemp("bad_records")
    source, output = folder / "in", folder / "out"
    source.mkdir()
    (source / "articles.jsonl").write_text("\n".join(_jsonl_lines()) + "\n")
    (source / "port.rss").write_bytes(_feed([
        ("feed-good", "Ferry timetable", "The ferry keeps its summer timetable until October."),
        ("feed-surrogate", "Odd character", "A lone reference &#55296; and a pair &#55357;&#56832; in one item."),
        ("feed-big", "Very long", "&lt;p&gt;" + "a" * BIG_TEXT_CHARS + "&lt;/p&gt;"),
    ]))
    paragraph = "<p>" + "The council met on Tuesday to discuss the budget for the coming year in detail. " * 4 + "</p>"
    (source / "good.html").write_bytes(_page(paragraph))
    (source / "deep.html").write_bytes(_page(paragraph + "<div>" * 300 + paragraph + "</div>" * 300 + paragraph))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for run_id in ("first", "second"):
        command = [sys.executable, "-m", "newsbeam", "ingest", "--source", str(source), "--output", str(output),
                   "--run-id", run_id, "--languages", "en"]
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr[-3000:]
    return source, output


def _articles(output: pathlib.Path) -> list[dict]:
    return ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table().to_pylist()


def _errors(output: pathlib.Path, run_id: str) -> list[dict]:
    rows = ds.dataset(str(output / "errors"), format="parquet", partitioning="hive").to_table().to_pylist()
    return [row for row in rows if row["run_id"] == run_id]


def test_every_good_record_is_written_once(runs):
    _, output = runs
    rows = {row["title"]: row for row in _articles(output)}
    assert set(rows) == {"Quay approved", "Bridge reopened", "Ferry timetable", "Odd character", "Very long", "Council news"}
    assert len(rows["Very long"]["text"]) == BIG_TEXT_CHARS  # converted, not emptied
    # A lone surrogate reference reads as U+FFFD (as in HTML); a UTF-16 pair of references is the character it encodes.
    assert rows["Odd character"]["text"] == "A lone reference \ufffd and a pair \U0001f600 in one item."
    assert "budget" in rows["Council news"]["text"]


def test_one_dead_letter_per_bad_record_with_its_line_and_id(runs):
    source, output = runs
    jsonl, deep_page = str(source / "articles.jsonl"), str(source / "deep.html")
    for run_id in ("first", "second"):
        errors = sorted(_errors(output, run_id), key=lambda row: row["detail"])
        found = {(row["source"], row["stage"], row["reason"], row["record_id"]) for row in errors}
        assert found == {
            (jsonl, "parse", "bad_unicode", "surrogate-text"),
            (jsonl, "parse", "bad_unicode", "surrogate-title"),
            (jsonl, "parse", "bad_unicode", "surrogate-author"),
            (jsonl, "parse", "too_deep", None),
            (jsonl, "parse", "not_a_string", "number-text"),
            (jsonl, "parse", "empty_text", "17"),
            (deep_page, "parse", "too_deep", None),
        }, errors
        assert len(errors) == 7
        lines = {row["record_id"]: row["detail"] for row in errors if row["source"] == jsonl}
        assert all(f"{jsonl}:{number}:" in lines[record_id] for number, record_id in
                   [(2, "surrogate-text"), (3, "surrogate-title"), (4, "surrogate-author"), (5, None), (6, "number-text")])
        assert "`text`" in lines["surrogate-text"] and "`title`" in lines["surrogate-title"]
        assert "`authors`" in lines["surrogate-author"] and "not a string" in lines["number-text"]


def test_second_run_writes_nothing_new(runs):
    _, output = runs
    summary = json.loads((output / "_runs" / "second.json").read_text())
    assert summary["totals"]["written"] == 0 and summary["totals"]["seen"] == 6
    assert summary["totals"]["failed"] == 7
