"""The allocator pins of long batch runs (pipelines/memory.py)."""

import os

import pytest

from newsbeam.pipelines import memory

pytestmark = pytest.mark.skipif(memory._LIBC is None, reason="glibc only: elsewhere the pins are a no-op")


def test_pins_apply_here_and_reach_worker_processes(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert memory.pin_allocator_thresholds()
    # multi_processing and portable workers read these when their glibc starts
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(8 * 1024 * 1024)
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == str(256 * 1024 * 1024)


def test_a_threshold_the_user_set_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory.pin_allocator_thresholds()
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "1048576"
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(8 * 1024 * 1024)


def test_on_a_dask_worker_dask_s_default_trim_threshold_is_replaced(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what Dask's nanny gives every worker
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory.pin_on_dask_worker()
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == str(256 * 1024 * 1024)
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(8 * 1024 * 1024)


def test_on_a_dask_worker_a_trim_threshold_the_user_configured_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    assert memory.pin_on_dask_worker()
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "1048576"
