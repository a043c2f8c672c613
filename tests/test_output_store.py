"""The output store's integrity: compaction by any path form, one taker of a stale lock, readers never
see temporaries or a compaction's working folders."""

import datetime as dt
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from newsbeam.cli import main
from newsbeam.errors import OutputLocked
from newsbeam.pipelines.lock import LOCK_NAME, OutputLock

DAY = "date=2023-01-01"


def _dataset(output, files_per_partition: int = 4, rows_per_file: int = 5) -> list[str]:
    """Small Parquet files in two partitions of one day, as runs leave them; returns every id."""
    ids = []
    for lang in ("en", "nl"):
        folder = output / "articles" / DAY / f"lang={lang}"
        folder.mkdir(parents=True)
        for number in range(files_per_partition):
            batch = [f"{lang}-{number}-{row}" for row in range(rows_per_file)]
            pq.write_table(pa.table({"id": batch, "title": batch}), folder / f"part-run{number}-00000.parquet")
            ids += batch
    return sorted(ids)


def _pyarrow_ids(output) -> list[str]:
    dataset = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive")
    return sorted(dataset.to_table(columns=["id"]).column("id").to_pylist())


def _visible_files(output) -> list[str]:
    return sorted(str(p.relative_to(output)) for p in (output / "articles").rglob("*.parquet")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(output).parts))  # fmt: skip


# 1. Compaction behaves the same whatever form the output path takes.

@pytest.mark.parametrize("form", ["out", "./out", "out/../out", "out/", "ABSOLUTE"])
def test_compaction_by_any_path_form_keeps_every_row_once(tmp_path, monkeypatch, capsys, form):
    ids = _dataset(tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    output = str(tmp_path / "out") if form == "ABSOLUTE" else form
    assert main(["compact", output, "--partition", f"{DAY}/lang=nl"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["partitions"]) == [f"{DAY}/lang=nl"] and report["rows"] == 20
    assert len([f for f in _visible_files(tmp_path / "out") if "lang=en" in f]) == 4  # not asked for: untouched
    assert _pyarrow_ids(tmp_path / "out") == ids
    for _ in range(2):  # compacting again (one file per partition, forced) changes nothing
        assert main(["compact", output, "--min-files", "1"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert sorted(report["partitions"]) == [f"{DAY}/lang=en", f"{DAY}/lang=nl"] and report["rows"] == 40
        assert _pyarrow_ids(tmp_path / "out") == ids
        assert len(_visible_files(tmp_path / "out")) == 2


# 10. Two runs racing over a dead holder's lock: exactly one takes it over, the other is refused.

def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def _race_for_the_lock(output: str, start, done, results) -> None:
    lock = OutputLock(output, f"racer-{os.getpid()}")
    start.wait()
    try:
        lock.acquire()
        outcome = "holds"
    except OutputLocked:
        outcome = "refused"
    except Exception as exc:  # any other failure (BeamIOError, ...) is reported as it is
        outcome = f"{type(exc).__name__}: {exc}"
    results.put(outcome)
    done.wait()  # the winner holds the lock until both have tried
    if outcome == "holds":
        lock.release()


def test_two_runs_racing_over_a_stale_lock_take_it_over_once(tmp_path):
    context = multiprocessing.get_context("fork")
    output = tmp_path / "out"
    output.mkdir()
    dead = {"run_id": "killed", "pid": _dead_pid(), "host": socket.gethostname(), "token": "dead",
            "acquired_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "heartbeat_at": dt.datetime.now(dt.timezone.utc).isoformat()}  # fmt: skip
    outcomes = []
    for _ in range(40):
        (output / LOCK_NAME).write_text(json.dumps(dead))
        start, done, results = context.Barrier(2), context.Barrier(2), context.Queue()
        racers = [context.Process(target=_race_for_the_lock, args=(str(output), start, done, results)) for _ in range(2)]
        for racer in racers:
            racer.start()
        outcomes.append(sorted(results.get(timeout=60) for _ in racers))
        for racer in racers:
            racer.join(timeout=60)
        assert not (output / LOCK_NAME).exists()  # the winner released it
    assert outcomes == [["holds", "refused"]] * 40


def test_a_run_refused_while_another_takes_over_exits_with_status_3(tmp_path, monkeypatch, capsys):
    import fcntl

    output = tmp_path / "out"
    output.mkdir()
    stale = {"run_id": "killed", "pid": _dead_pid(), "host": socket.gethostname()}
    (output / LOCK_NAME).write_text(json.dumps(stale))
    _dataset(output, files_per_partition=2)
    with open(output / LOCK_NAME, "r+b") as taker:  # another run is in the middle of taking it over
        fcntl.flock(taker, fcntl.LOCK_EX)
        assert main(["compact", str(output)]) == 3
    assert "another run holds the output" in capsys.readouterr().err
    assert len(_visible_files(output)) == 4  # nothing done
    assert main(["compact", str(output)]) == 0
    assert len(_visible_files(output)) == 2


# 11. Readers' documented globs never reach a temporary or a compaction's working folder, and the next
#     compaction (or run) removes every leftover.

README_QUERY = """SELECT lang, count(*) AS articles
FROM read_parquet('out/articles/**/*.parquet', hive_partitioning = true)
GROUP BY lang;"""


def _readers_see(tmp_path) -> dict:
    """What each reader the README names counts per language in `tmp_path/out` (queried from `tmp_path`)."""
    import duckdb

    counts = {"duckdb": dict(duckdb.connect().execute(README_QUERY).fetchall())}
    table = ds.dataset("out/articles", format="parquet", partitioning="hive").to_table(columns=["lang"])
    counts["pyarrow"] = dict(zip(*table.group_by("lang").aggregate([("lang", "count")]).to_pydict().values()))
    polars = pytest.importorskip("polars")
    frame = polars.scan_parquet("out/articles/**/*.parquet", hive_partitioning=True).group_by("lang").len().collect()
    counts["polars"] = dict(frame.iter_rows())
    return counts


def _killed_while(script: str, *args: str) -> None:
    """Run `script` in a new process and SIGKILL it once it prints `ready`."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()[-3000:]
    finally:
        process.kill()
        process.wait()


WRITE_AND_HANG = """
import sys, time
from newsbeam.transforms.sink.files import write_atomically

def half_written(handle):
    handle.write(b"PAR1" + bytes(100))
    handle.flush()
    print("ready", flush=True)
    time.sleep(600)

write_atomically(sys.argv[1], half_written)
"""


def test_a_killed_runs_temporaries_are_invisible_to_readers_and_removed_by_the_next(tmp_path, monkeypatch):
    _dataset(tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    for folder in (f"out/articles/{DAY}/lang=en", "out/articles/date=2023-01-02/lang=de", "out/errors/date=2023-01-01"):
        _killed_while(WRITE_AND_HANG, f"{folder}/part-killed-00000.parquet")
    leftovers = [p for p in (tmp_path / "out").rglob(".*")]
    assert len(leftovers) == 3
    assert _readers_see(tmp_path) == {reader: {"en": 20, "nl": 20} for reader in ("duckdb", "pyarrow", "polars")}
    assert main(["compact", "out"]) == 0
    assert not [p for p in (tmp_path / "out").rglob(".*")]
    assert _readers_see(tmp_path)["duckdb"] == {"en": 20, "nl": 20}


COMPACT_AND_HANG = """
import sys, time
from newsbeam.pipelines import compact

swap = compact._exchange

def hang_at_the_swap(staging, folder):
    if sys.argv[2] == "after":
        swap(staging, folder)
    print("ready", flush=True)
    time.sleep(600)

compact._exchange = hang_at_the_swap
compact.compact(sys.argv[1], rows_per_file=3)
"""


@pytest.mark.parametrize("moment", ["before", "after"])
def test_readers_mid_compaction_and_after_a_killed_one_see_each_row_once(tmp_path, monkeypatch, moment):
    ids = _dataset(tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    _killed_while(COMPACT_AND_HANG, str(tmp_path / "out"), moment)  # killed at its first swap, before or after
    assert _readers_see(tmp_path) == {reader: {"en": 20, "nl": 20} for reader in ("duckdb", "pyarrow", "polars")}
    assert _pyarrow_ids(tmp_path / "out") == ids
    assert main(["compact", "out"]) == 0
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # the working folder is gone, with the old files
    assert _readers_see(tmp_path)["duckdb"] == {"en": 20, "nl": 20}
    assert _pyarrow_ids(tmp_path / "out") == ids and len(_visible_files(tmp_path / "out")) == 2


def test_temporary_names_match_no_reader_glob(tmp_path):
    from newsbeam.transforms.sink.files import temporary_name

    name = os.path.basename(temporary_name(str(tmp_path / "part-r1-00000.parquet")))
    assert name.startswith(".") and not name.endswith(".parquet")


def test_the_working_folder_an_older_compaction_left_in_articles_is_removed(tmp_path, monkeypatch):
    ids = _dataset(tmp_path / "out")
    partition = tmp_path / "out" / "articles" / DAY
    left = partition / ".lang=en.compact-20230101T000000Z"  # where compaction used to build, killed after its swap
    left.mkdir()
    shutil.copy(partition / "lang=en" / "part-run0-00000.parquet", left)  # the old copy of rows still live
    monkeypatch.chdir(tmp_path)
    assert main(["compact", "out", "--partition", f"{DAY}/lang=nl"]) == 0
    assert not left.exists()
    assert _readers_see(tmp_path)["duckdb"] == {"en": 20, "nl": 20}
    assert _pyarrow_ids(tmp_path / "out") == ids
