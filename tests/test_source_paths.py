"""File sources end to end: one identity however a path is spelled, file names that are not UTF-8, and an
output folder that lies inside a source's glob."""

import json
import os
import pathlib

import pyarrow.dataset as ds
import pytest

from newsbeam.cli import main
from newsbeam.transforms.normalise import identity

COUNCIL = "The city council of Rotterdam approved the new harbour plan on Friday morning after a long debate."
MAYOR = "The mayor of Utrecht opened the new bicycle bridge over the canal on Monday afternoon."


def _rows(folder: pathlib.Path) -> list[dict]:
    if not folder.exists():
        return []
    return ds.dataset(str(folder), format="parquet", partitioning="hive").to_table().to_pylist()


def _summary(output: pathlib.Path, run_id: str) -> dict:
    return json.loads((output / "_runs" / f"{run_id}.json").read_text())


def test_a_file_is_one_source_however_its_path_is_spelled(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    lines = [{"id": "7", "title": "Harbour plan", "text": COUNCIL}, {"title": "Bridge", "text": MAYOR}]
    (tmp_path / "src" / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    monkeypatch.chdir(tmp_path)
    absolute = os.path.realpath("src/a.jsonl")
    spellings = ["src/a.jsonl", "./src/a.jsonl", absolute, "src/../src/a.jsonl"]
    argv = ["ingest", "--output", "out", "--run-id", "spellings"]
    for spelling in spellings:
        argv += ["--source", spelling]
    assert main(argv) == 0
    rows = _rows(tmp_path / "out" / "articles")
    # The id of an article with a source-local id is scoped by the source: the same for every spelling.
    assert sorted(r["title"] for r in rows) == ["Bridge", "Harbour plan"]
    (harbour,) = [r for r in rows if r["title"] == "Harbour plan"]
    assert harbour["id"] == identity.article_id(f"local:{absolute}#7")
    assert {r["source"] for r in rows} == {absolute}
    summary = _summary(tmp_path / "out", "spellings")
    assert list(summary["sources"]) == [absolute]
    counts = summary["sources"][absolute]
    assert (counts["read"], counts["written"], counts["duplicates"]) == (8, 2, 6)
    assert [spec["location"] for spec in summary["source_specs"]] == [absolute] * 4


@pytest.fixture(scope="module")
def data_with_output_inside(tmp_path_factory):
    """A data folder holding a good article, one whose name is not UTF-8, and the output of the runs over it:
    first read as a folder, then as `data/**`, which also covers the first run's output."""
    root = tmp_path_factory.mktemp("inside")
    data = root / "data"
    data.mkdir()
    (data / "good.txt").write_text(f"title: Harbour plan\n\n{COUNCIL}\n")
    with open(os.path.join(os.fsencode(data), b"bad\xff.txt"), "w") as handle:
        handle.write(f"title: Bridge\n\n{MAYOR}\n")
    output = data / "out"
    statuses = [main(["ingest", "--source", source, "--output", str(output), "--run-id", run_id])
                for source, run_id in ((str(data), "folder"), (f"{data}/**", "glob"))]
    return {"data": data, "output": output, "statuses": statuses}


def test_a_file_name_that_is_not_utf8_is_a_dead_letter_of_its_own(data_with_output_inside):
    data, output = data_with_output_inside["data"], data_with_output_inside["output"]
    assert data_with_output_inside["statuses"] == [0, 0]  # this run, and every later one over the same folder
    shown = f"{data}/bad\\xff.txt"
    errors = sorted((e["run_id"], e["source"], e["stage"], e["reason"]) for e in _rows(output / "errors"))
    assert errors == [("folder", shown, "fetch", "bad_file_name"), ("glob", shown, "fetch", "bad_file_name")]
    rows = _rows(output / "articles")
    assert [(r["source"], r["title"]) for r in rows] == [(str(data / "good.txt"), "Harbour plan")]
    assert _summary(output, "folder")["sources"][shown]["failed"] == 1


def test_the_output_folder_inside_a_glob_is_not_read(data_with_output_inside):
    data, output = data_with_output_inside["data"], data_with_output_inside["output"]
    assert any(output.glob("articles/**/*.parquet")) and any(output.glob("errors/**/*.parquet"))
    summary = _summary(output, "glob")
    assert sorted(summary["sources"]) == [f"{data}/bad\\xff.txt", str(data / "good.txt")]
    totals = summary["totals"]
    assert (totals["read"], totals["seen"], totals["written"], totals["failed"]) == (1, 1, 0, 1)
