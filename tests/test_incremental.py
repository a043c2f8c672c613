"""Scheduled runs into one output: incremental, idempotent, crash-safe, one writer at a time, compaction."""

import datetime as dt
import json
import pathlib
import signal
import subprocess
import sys
import time

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsbeam.cli import main
from newsbeam.pipelines.lock import OutputLock

ENGLISH = "The city council of {city} approved a new budget for public transport on {day}, the mayor said."


def _jsonl(path: pathlib.Path, count: int, start: int = 0, days: int = 1) -> pathlib.Path:
    """`count` English articles with explicit ids, spread over `days` publication days."""
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(start, start + count):
            day = dt.date(2023, 1, 1) + dt.timedelta(days=n % days)
            text = ENGLISH.format(city=f"Town{n}", day=day.isoformat()) + f" Item {n}."
            handle.write(json.dumps({"id": f"item-{n}", "title": f"Budget {n}", "text": text, "published": day.isoformat()}) + "\n")
    return path


def _ids(output: pathlib.Path) -> list[str]:
    return ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table(columns=["id"]).column("id").to_pylist()


def _visible_parquet(output: pathlib.Path) -> list[pathlib.Path]:
    return [p for p in (output / "articles").rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.parts[-3:])]


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsbeam.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_rerun_changes_nothing_and_a_new_source_adds_only_its_articles(tmp_path):
    first = _jsonl(tmp_path / "a.jsonl", 5)
    out = tmp_path / "out"
    assert main(["ingest", "--source", str(first), "--output", str(out)]) == 0
    files = sorted(_visible_parquet(out))
    assert sorted(_ids(out)) and len(_ids(out)) == 5
    assert main(["ingest", "--source", str(first), "--output", str(out)]) == 0
    assert len(_ids(out)) == 5 and sorted(_visible_parquet(out)) == files  # nothing rewritten, nothing added
    second = _jsonl(tmp_path / "b.jsonl", 3, start=100)
    assert main(["ingest", "--source", str(first), "--source", str(second), "--output", str(out)]) == 0
    assert len(_ids(out)) == 8 and len(set(_ids(out))) == 8
    runs = sorted((out / "_runs").glob("*.json"))
    last = json.loads(runs[-1].read_text())
    assert last["totals"]["written"] == 3 and last["totals"]["seen"] == 5


def test_since_until_and_dry_run(tmp_path, capsys):
    source = _jsonl(tmp_path / "a.jsonl", 6, days=6)  # 2023-01-01 .. 2023-01-06
    out = tmp_path / "out"
    assert main(["ingest", "--source", str(source), "--output", str(out), "--dry-run", "--since", "2023-01-03", "--until", "2023-01-05"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["written"] == 2 and report["totals"]["filtered"] == 4
    assert sorted(report["partitions"]) == ["date=2023-01-03/lang=en", "date=2023-01-04/lang=en"]
    assert not out.exists() or not list(out.rglob("*.parquet"))  # a dry run writes nothing
    assert main(["ingest", "--source", str(source), "--output", str(out), "--since", "2023-01-05"]) == 0
    assert len(_ids(out)) == 2


def test_sigkill_during_writing_then_rerun_completes_exactly_once(tmp_path):
    source = _jsonl(tmp_path / "many.jsonl", 240, days=240)  # one partition per article: many files to write
    out = tmp_path / "out"
    run = _cli("ingest", "--source", str(source), "--output", str(out))
    deadline = time.monotonic() + 600
    while not (out / "articles").exists() or not _visible_parquet(out):
        assert run.poll() is None, run.communicate()[1][-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.wait()
    visible_at_kill = len(_visible_parquet(out))
    assert 0 < visible_at_kill < 240  # killed in the middle of writing
    assert (out / "_lock.json").exists()  # the dead run's lock is left behind
    for path in _visible_parquet(out):  # nothing half-written where readers look
        assert pq.read_table(path).num_rows == 1
    assert main(["ingest", "--source", str(source), "--output", str(out)]) == 0  # stale lock: holder is dead
    ids = _ids(out)
    assert len(ids) == 240 and len(set(ids)) == 240
    assert not [p for p in out.rglob(".*")]  # temporaries cleaned up
    assert not (out / "_lock.json").exists()


def test_a_second_concurrent_run_is_refused_clearly(tmp_path, capsys):
    source = _jsonl(tmp_path / "a.jsonl", 4)
    out = tmp_path / "out"
    with OutputLock(str(out), "someone-else"):
        assert main(["ingest", "--source", str(source), "--output", str(out)]) == 3
        assert "another run holds the output" in capsys.readouterr().err
        assert not (out / "articles").exists()
    assert main(["ingest", "--source", str(source), "--output", str(out)]) == 0
    assert len(_ids(out)) == 4


def test_two_runs_started_together_write_each_article_once(tmp_path):
    source = _jsonl(tmp_path / "a.jsonl", 10)
    out = tmp_path / "out"
    runs = [_cli("ingest", "--source", str(source), "--output", str(out)) for _ in range(2)]
    codes = sorted(run.wait(timeout=600) for run in runs)
    assert codes in ([0, 0], [0, 3])  # the second either waited its turn (started after) or was refused
    ids = _ids(out)
    assert len(ids) == 10 and len(set(ids)) == 10


def test_compaction_keeps_every_row(tmp_path, capsys):
    out = tmp_path / "out"
    for batch in range(3):  # three runs, same day and language: three small files in one partition
        source = _jsonl(tmp_path / f"b{batch}.jsonl", 4, start=batch * 10)
        assert main(["ingest", "--source", str(source), "--output", str(out)]) == 0
    before = sorted(_ids(out))
    assert len(_visible_parquet(out)) == 3
    (out / "articles" / "date=2023-01-01" / "lang=en" / ".tmp-leftover.parquet").write_bytes(b"half")
    assert main(["compact", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files_before"] == 3 and report["files_after"] == 1 and report["rows"] == 12
    assert sorted(_ids(out)) == before
    assert len(_visible_parquet(out)) == 1
    assert not [p for p in out.rglob(".*")]
    assert main(["ingest", "--source", str(tmp_path / "b0.jsonl"), "--output", str(out)]) == 0  # still incremental
    assert sorted(_ids(out)) == before


def test_write_checks_of_runs_started_together_do_not_collide(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from newsbeam.cli import _check_output_writable

    out = str(tmp_path / "out")
    with ThreadPoolExecutor(8) as pool:  # as two cron runs that start in the same second: no "not writable"
        list(pool.map(lambda _: _check_output_writable(out), range(400)))
    assert sorted(p.name for p in (tmp_path / "out" / "_runs").iterdir()) == []  # every probe removed


def test_the_lock_holders_sweep_keeps_the_write_probes_of_waiting_runs(tmp_path):
    from newsbeam.pipelines.lock import WRITE_PROBE_PREFIX, remove_temporaries

    runs = tmp_path / "out" / "_runs"
    runs.mkdir(parents=True)
    probe, leftover = runs / f"{WRITE_PROBE_PREFIX}abc", runs / ".tmp-123-part.parquet"
    probe.write_bytes(b"")
    leftover.write_bytes(b"half")
    assert remove_temporaries(str(tmp_path / "out")) == [str(leftover)]
    assert probe.exists() and not leftover.exists()


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><id>urn:wire</id><updated>2023-03-01T10:00:00Z</updated>
<entry><id>urn:wire:story-1</id><title>Budget approved</title><updated>2023-03-01T10:00:00Z</updated>
<link href="https://news.example/story-1?utm_source=atom"/><summary>{text}</summary></entry></feed>"""
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Paper</title><link>https://paper.example/</link>
<item><guid isPermaLink="false">paper-{n}</guid><title>Budget approved</title>
<link>https://NEWS.example/story-1#top</link><pubDate>Wed, 01 Mar 2023 10:00:00 GMT</pubDate>
<description>{text}</description></item></channel></rss>"""


def test_a_syndicated_copy_under_another_id_is_one_article(tmp_path):
    """An Atom entry and an RSS item with ids of their own whose links canonicalise to one URL: one row."""
    text = ENGLISH.format(city="Leeds", day="Wednesday")
    atom, rss = tmp_path / "wire.atom", tmp_path / "paper.rss"
    atom.write_text(ATOM.format(text=text), encoding="utf-8")
    rss.write_text(RSS.format(n=1, text=text), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["ingest", "--source", str(atom), "--source", str(rss), "--output", str(out)]) == 0
    assert len(_ids(out)) == 1
    summary = json.loads(next((out / "_runs").glob("*.json")).read_text())
    assert summary["totals"]["written"] == 1 and summary["totals"]["duplicates"] == 1
    # A later copy under yet another id, in a later run: the dataset already holds its URL.
    rss.write_text(RSS.format(n=2, text=text + " Updated."), encoding="utf-8")
    assert main(["ingest", "--source", str(rss), "--output", str(out), "--run-id", "later"]) == 0
    assert len(_ids(out)) == 1
    later = json.loads((out / "_runs" / "later.json").read_text())
    assert later["totals"]["written"] == 0 and later["totals"]["duplicates"] == 1
