"""Benchmark: `--runner dask` on one and on two Dask workers, against the in-process DirectRunner and bare spaCy.

In one run, one after the other on the same articles: bare `nlp.pipe` with the model `newsbeam models` names
for English (the floor, as in `pipeline_vs_spacy.py`), `newsbeam ingest` on the in-process DirectRunner, then
for 1 and 2 workers: a `dask scheduler` and N `dask worker --nthreads 1` processes started here, `newsbeam
ingest --runner dask` submitted to them, the cluster stopped. A Dask figure's `seconds_with_startup` runs from
starting the scheduler to the end of the ingest (workers load their models during the run, so that is in the
ingest time too); `worker_peak_pss_mib` sums the workers' and their language-detector helpers' peaks, and
`worker_cpu_seconds` their CPU during the ingest; `cores_busy` adds the launcher's and divides by the ingest's
wall time: how many of the machine's cores the run kept busy on average.

    python benchmarks/dask_scaling.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import (  # noqa: E402
    TreeSampler, corpus_parser, record_result, run_child, run_ingest, take_articles, without_output,
)
from pipeline_vs_spacy import BARE_SPACY, dataset_facts, ner_texts  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DaskCluster:
    """A `dask scheduler` and `workers` one-thread `dask worker` processes on 127.0.0.1, as on a real cluster."""

    def __init__(self, workers: int, folder: pathlib.Path):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        dask = [sys.executable, "-m", "dask"]
        port = self.address.rsplit(":", 1)[1]
        self.processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
                                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
        self.workers = [
            subprocess.Popen([*dask, "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                              "--host", "127.0.0.1", "--local-directory", str(folder / f"worker-{n}")],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            for n in range(workers)
        ]
        self.processes += self.workers
        self.samplers = [TreeSampler(worker.pid) for worker in self.workers]
        for sampler in self.samplers:
            sampler.start()

    def wait_for_workers(self) -> None:
        from distributed import Client

        with Client(self.address, timeout=120) as client:
            client.wait_for_workers(len(self.workers), timeout=300)

    def cpu_seconds(self) -> float:
        """CPU seconds the workers' process trees (nannies and detector helpers included) have used so far."""
        return sum(sampler.cpu_mark() for sampler in self.samplers)

    def stop(self) -> tuple[int, float]:
        """Stop every process; the workers' summed peak PSS (MiB) and CPU seconds, nannies and detector helpers
        included (CPU as last sampled, before the processes are stopped)."""
        for sampler in self.samplers:
            sampler.stop()
        cpu = sum(sampler.cpu_seconds for sampler in self.samplers)
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        return round(sum(sampler.peak_pss for sampler in self.samplers) / 1024), cpu


def dask_run(subset: pathlib.Path, work: pathlib.Path, workers: int) -> dict:
    """One ingest on a fresh cluster of `workers` workers; its measurements, start-up included."""
    started = time.perf_counter()
    cluster = DaskCluster(workers, work / f"dask-{workers}")
    try:
        cluster.wait_for_workers()
        ready = time.perf_counter() - started
        output = work / f"out-dask-{workers}"
        cpu_before = cluster.cpu_seconds()
        run, summary = run_ingest(subset, output, [], ["--runner", "dask", f"--dask_client_address={cluster.address}"])
        facts = dataset_facts(output)
    finally:
        worker_pss, worker_cpu = cluster.stop()
    worker_cpu -= cpu_before
    return {
        "workers": workers,
        "cluster_ready_seconds": round(ready, 2),
        "seconds_with_startup": round(ready + run["seconds"], 2),
        "worker_peak_pss_mib": worker_pss,
        # during the ingest: the workers' trees, and with the launcher's the cores the run kept busy on average
        "worker_cpu_seconds": round(worker_cpu, 1),
        "cores_busy": round((worker_cpu + run["cpu_seconds"]) / run["seconds"], 2),
        "launcher": without_output(run),
        "pipeline_seconds": summary["seconds"],
        "totals": summary["totals"],
        **facts,
    }


def main() -> None:
    parser = corpus_parser(__doc__, HERE / "results" / "dask_scaling.jsonl", articles=3000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        work = pathlib.Path(folder)
        subset = take_articles(args.corpus, args.articles, work / "corpus.jsonl")
        texts = work / "texts.jsonl"
        ner_texts(subset, texts)
        bare_run = run_child([sys.executable, "-c", BARE_SPACY, str(texts)])
        direct_run, direct_summary = run_ingest(subset, work / "out-direct", [], [])
        direct = {**without_output(direct_run), "pipeline_seconds": direct_summary["seconds"],
                  "totals": direct_summary["totals"], **dataset_facts(work / "out-direct")}  # fmt: skip
        one, two = dask_run(subset, work, 1), dask_run(subset, work, 2)

    result = record_result(args.results, "dask_scaling", {
        "label": args.label,
        "articles": args.articles,
        "bare_spacy": {**without_output(bare_run), **json.loads(bare_run["stdout"])},
        "direct": direct,
        "dask_1": one,
        "dask_2": two,
        "two_over_one_workers": round(two["seconds_with_startup"] / one["seconds_with_startup"], 3),
        "dask_1_over_bare": round(one["seconds_with_startup"] / bare_run["seconds"], 3),
        "dask_2_over_bare": round(two["seconds_with_startup"] / bare_run["seconds"], 3),
        "direct_over_bare": round(direct_run["seconds"] / bare_run["seconds"], 3),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
