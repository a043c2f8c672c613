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

