"""What runs show while they run: stage lines at INFO when stderr is not a terminal, a live line on a
terminal (a real pty), one line per streaming poll, and a grammatical end-of-run line, dry runs included."""

import json
import os
import pathlib
import pty
import re
import select
import subprocess
import sys
import time

from http_server import feed

import newsbeam
from newsbeam.cli import main
from newsbeam.pipelines.progress import plural, summary_line

SAMPLES = pathlib.Path(newsbeam.__file__).parent / "data" / "samples"
REPO = pathlib.Path(newsbeam.__file__).resolve().parents[1]
ARTICLE = "title: Dijkversterking Den Oever\ndate: 2023-03-01\n\nRijkswaterstaat versterkt de dijk bij Den Oever.\n"


def _newsbeam(*argv: str) -> list[str]:
    return [sys.executable, "-m", "newsbeam", *argv]


def _one_article(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "dijk.txt").write_text(ARTICLE, encoding="utf-8")
    return folder


def test_stage_lines_at_info_when_stderr_is_not_a_terminal(tmp_path):
    command = _newsbeam("ingest", "--source", str(SAMPLES), "--output", str(tmp_path / "out"), "--chunk-size", "5",
                        "--log-level", "info", "--run-id", "staged")  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    stages = [line.split("newsbeam.progress: ", 1)[1] for line in lines if "newsbeam.progress: " in line]
    assert stages[0].startswith("staging file sources done in ") and stages[0].endswith(": 9 records in 2 chunks")
    chunks = [re.fullmatch(r"chunk (\d)/2 done in [\d.]+ s: read (\d+), written (\d+), failed 0 \([\d.,]+ records/s\)", s)
              for s in stages[1:]]  # fmt: skip
    assert len(chunks) == 2 and all(chunks), stages
    assert [int(m[1]) for m in chunks] == [1, 2]
    assert sum(int(m[2]) for m in chunks) == 9 and sum(int(m[3]) for m in chunks) == 9
    assert not [line for line in lines if " INFO apache_beam" in line]  # Beam's own INFO stays out
    assert lines[-1].startswith("newsbeam: run staged: 9 articles written, 0 already in the dataset, 0 duplicates, "
                                "0 failed records or sources, 1 file of unknown type skipped (")  # README.md  # fmt: skip
    assert "\r" not in run.stderr  # no live line in a log file


def test_live_progress_on_a_terminal_and_a_singular_end_line(tmp_path):
    primary, secondary = pty.openpty()
    command = _newsbeam("ingest", "--source", str(_one_article(tmp_path)), "--output", str(tmp_path / "out"),
                        "--run-id", "tty")  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary, cwd=REPO)
    os.close(secondary)
    seen, deadline = b"", time.monotonic() + 600
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(primary)
    text = seen.decode("utf-8", errors="replace")
    assert process.returncode == 0, text
    assert "\r\x1b[Kchunk 1/1: read " in text  # the live line, redrawn in place
    assert re.search(r"chunk 1/1: read 1, written [01], failed 0", text), text
    assert "newsbeam: run tty: 1 article written, 0 already in the dataset, 0 duplicates, 0 failed records or sources (" in text


def test_dry_run_ends_with_the_summary_line_and_default_level_shows_no_stages(tmp_path, capsys):
    source = _one_article(tmp_path)
    assert main(["ingest", "--source", str(source), "--output", str(tmp_path / "out"), "--dry-run", "--run-id", "dry"]) == 0
    captured = capsys.readouterr()
    assert '"written": 1' in captured.out
    assert captured.err.splitlines()[-1].startswith(
        "newsbeam: run dry: 1 article would be written, 0 already in the dataset, 0 duplicates, 0 failed records or sources ("
    ) and captured.err.rstrip().endswith("dry run, nothing written")
    assert "newsbeam.progress" not in captured.err and not (tmp_path / "out" / "articles").exists()


def test_end_line_grammar():
    summary = {"totals": {"written": 1, "seen": 2, "duplicates": 1, "failed": 1}, "seconds": 1.25}
    line = summary_line("r", summary, "out")
    assert line == ("newsbeam: run r: 1 article written, 2 already in the dataset, 1 duplicate, 1 failed record or "
                    "source (1.2s); summary in out/_runs/r.json")  # fmt: skip
    assert plural(1000, "article") == "1,000 articles" and plural(0, "chunk") == "0 chunks"


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>poll test</title><link>https://example.org/</link>
<description>d</description>{items}</channel></rss>"""
ITEM = ("<item><title>Quay works in Rotterdam, day {n}</title><link>https://example.org/quay-{n}</link><guid>quay-{n}</guid>"
        "<pubDate>Tue, 14 Mar 2023 08:30:00 GMT</pubDate><description>The port of Rotterdam extends its quays, "
        "day {n} of the works.</description></item>")  # fmt: skip


def test_streaming_prints_one_line_per_poll(tmp_path, http_server, capsys):
    http_server.route("/poll.rss", feed(RSS.format(items="".join(ITEM.format(n=n) for n in (1, 2))).encode(), etag='"p1"'))
    argv = ["ingest", "--streaming", "--source", http_server.url("/poll.rss"), "--output", str(tmp_path / "out"),
            "--poll-interval", "4", "--stop-after", "45", "--run-id", "polls"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    polls = re.findall(r"newsbeam: poll \d\d:\d\d:\d\d UTC: (\d+) feeds? polled, (\d+) new articles?, (\d+) errors?", err)
    assert len(polls) >= 2, err
    assert polls[0] == ("1", "2", "0"), err  # the first poll finds both items
    assert all(new == "0" for _, new, _ in polls[1:])  # later polls: 304 Not Modified, nothing new
    assert "streaming run polls stopped: 2 articles written" in err


def test_files_of_unknown_type_in_a_folder_are_counted_in_the_run_summary(tmp_path, capsys):
    source = _one_article(tmp_path)
    (source / "notes.pdf").write_bytes(b"%PDF-1.4")
    (source / "photos").mkdir()
    (source / "photos" / "quay.jpg").write_bytes(b"\xff\xd8\xff")
    (source / ".draft.txt").write_text("hidden, not counted", encoding="utf-8")
    output = tmp_path / "out"
    assert main(["ingest", "--source", str(source), "--output", str(output), "--run-id", "skips"]) == 0
    summary = json.loads((output / "_runs" / "skips.json").read_text())
    assert summary["skipped_files"] == {str(source): 2} and summary["totals"]["written"] == 1
    assert ", 2 files of unknown type skipped (" in capsys.readouterr().err
