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

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "newsbeam" / "data" / "samples"
HELPER_MODULE = b"newsbeam.transforms.normalise.detector_process"


def _helpers() -> dict[int, int]:
    """Every running detector helper process: pid -> parent pid."""
    helpers = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if HELPER_MODULE not in cmdline.read():
                        continue
                with open(f"/proc/{entry}/stat") as stat:
                    helpers[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return helpers


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads the helper processes from /proc")
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
