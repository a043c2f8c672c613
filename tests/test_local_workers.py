"""The whole ingest on the DirectRunner with two worker processes (`--direct_running_mode=multi_processing`).

Beam starts each worker as a process of its own, which unpickles the DoFns; the workers must reach the
launcher's language detector helper at the address the run gave them instead of each starting its own.
"""

import os
import pathlib
import threading

import pyarrow.dataset as ds
import pytest

from newsbeam.cli import main
from newsbeam.transforms.normalise.detector_process import worth_a_helper

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "newsbeam" / "data" / "samples"
HELPER_MODULE = b"newsbeam.transforms.normalise.detector_process"


def _children(pid: int) -> list[int]:
    children = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):  # Beam starts its workers from other threads than the main one
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return children


def _helpers() -> dict[int, int]:
    """The detector helper processes among this process's descendants: pid -> parent pid."""
    helpers, todo = {}, [os.getpid()]
    while todo:
        parent = todo.pop()
        for child in _children(parent):
            todo.append(child)
            try:
                with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                    if HELPER_MODULE in cmdline.read():
                        helpers[child] = parent
            except OSError:
                pass
    return helpers


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the helper processes from /proc")
@pytest.mark.skipif(not worth_a_helper(), reason="one core: detection stays in each process, no helper to share")
def test_two_local_workers_share_the_launchers_language_detector(tmp_path):
    seen, running = {}, threading.Event()

    def sample():
        while not running.wait(0.05):
            seen.update(_helpers())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        code = main(["ingest", "--source", str(SAMPLES), "--output", str(tmp_path / "out"),
                     "--direct_num_workers=2", "--direct_running_mode=multi_processing"])  # fmt: skip
    finally:
        running.set()
        sampler.join()
    assert code == 0
    rows = ds.dataset(str(tmp_path / "out" / "articles"), format="parquet", partitioning="hive").to_table().to_pylist()
    by_language = {}
    for row in rows:
        by_language[row["language"]] = by_language.get(row["language"], 0) + 1
    assert by_language == {"en": 3, "fr": 3, "de": 2, "nl": 1}
    # Only the launcher's helpers (this process's): a worker that started its own would be that one's parent.
    assert seen and set(seen.values()) == {os.getpid()}
