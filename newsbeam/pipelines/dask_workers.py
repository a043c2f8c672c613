"""Dask workers start loading a run's models while the launcher plans the pipeline.

On the DirectRunner the launcher starts the language detector's helper before it builds the pipeline
(`start_helper_early`), so lingua builds while the graph is planned. A Dask worker would otherwise start
its helper and load spaCy only when its first task sets the DoFns up, after the launcher's few seconds of
planning and the reading tasks, with the worker's second core idle. Here every worker of the cluster gets,
as soon as the launcher knows the run's configuration, a background thread that sets the allocator up as
the launcher's (`memory.pin_on_dask_worker`), starts the helper and loads the NER pipelines into the
process-wide caches the DoFns' `setup` then finds filled.
"""

from __future__ import annotations

import logging
import pickle
import threading
import typing as t

if t.TYPE_CHECKING:  # imported on a worker inside the loading thread: its event loop must not wait for spaCy
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam.transforms.enrich.registry import ModelSpec

# How long the launcher waits for the scheduler before it leaves the loading to the tasks (seconds).
CONNECT_TIMEOUT_SECONDS = 10


def start_loading_on_workers(options: PipelineOptions, languages: tuple[str, ...], mode: str,
                             models: dict[str, ModelSpec]) -> int:
    """Ask every worker of the cluster at `--dask_client_address` to load what the run needs; returns how many
    were asked (0 without an address: the runner starts its own cluster later). Never fails the run: a worker
    that cannot be reached or cannot load loads in its DoFns' `setup`, and reports errors there."""
    from apache_beam.runners.dask.dask_runner import DaskOptions

    address = options.view_as(DaskOptions).address
    if not address:
        return 0
    try:
        from distributed import Client

        with Client(address, timeout=CONNECT_TIMEOUT_SECONDS) as client:
            started = client.run(load_in_background, tuple(languages), mode, pickle.dumps(dict(models)))
    except Exception as error:  # the run's own connection reports an unreachable cluster
        logging.info("newsbeam: Dask workers load their models in their first tasks: %s", error)
        return 0
    return len(started)


def load_in_background(languages: tuple[str, ...], mode: str, pickled_models: bytes) -> str:
    """On a worker: start loading in a daemon thread and return at once (this runs in the worker's event loop,
    so the models travel pickled: unpickling their specs imports spaCy)."""
    thread = threading.Thread(target=load, args=(languages, mode, pickled_models), name="newsbeam-load", daemon=True)
    thread.start()
    return thread.name


def load(languages: tuple[str, ...], mode: str, pickled_models: bytes) -> None:
    """Start the detector helper (it builds lingua's models on its own core), then load each distinct NER
    pipeline and the gazetteer, into the same process-wide caches as `_Detect`, `SpacyPipelines` and
    `_ResolvePlaces` use."""
    from newsbeam.pipelines.memory import pin_on_dask_worker
    from newsbeam.transforms.enrich.gazetteer import load_gazetteer
    from newsbeam.transforms.enrich.ner import loaded_pipeline
    from newsbeam.transforms.normalise.detect import start_helper_early

    pin_on_dask_worker()  # before the models allocate, and for every task's arrays after
    try:
        models: dict[str, ModelSpec] = pickle.loads(pickled_models)
        start_helper_early(tuple(languages), mode)  # the helper `_Detect.setup` finds (none on one core)
        for spec in set(models.values()):
            loaded_pipeline(spec)
        load_gazetteer()
    except Exception:  # the DoFn that needs it loads it again and fails there, with the error where it belongs
        logging.exception("newsbeam: loading ahead of the run failed on this worker")
