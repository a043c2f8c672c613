"""`--runner dask` on real Dask clusters: each fix of Beam's DaskRunner on a minimal pipeline, then the whole ingest.

The minimal cases run on a `distributed.LocalCluster` of two worker processes with one thread each; each one
loses, mixes or recomputes data on Beam 2.77's own `DaskRunner`. The end-to-end test starts a `dask
scheduler` and two `dask worker` processes on 127.0.0.1, ingests the bundled samples plus generated articles
in four languages through them, and compares the dataset with a DirectRunner run of the same input, row for row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import time
import uuid

import apache_beam as beam
import distributed
import pyarrow.dataset as ds
import pytest
from apache_beam.ml.inference.base import ModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import window

from newsbeam.cli import main
from newsbeam.pipelines.dask_runner import ExactDaskRunner

REPO = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = REPO / "newsbeam" / "data" / "samples"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local.scheduler_address


def _run(build, address: str) -> None:
    """Run the pipeline `build(pipeline)` makes on the cluster at `address`."""
    pipeline = beam.Pipeline(runner=ExactDaskRunner(), options=PipelineOptions([f"--dask_client_address={address}"]))
    build(pipeline)
    pipeline.run().wait_until_finish()


def _record(value, folder: str) -> None:
    """One file per element: what a transform saw, readable after the run whichever worker it ran on."""
    (pathlib.Path(folder) / uuid.uuid4().hex).write_text(json.dumps(value))


def _recorded(folder: pathlib.Path) -> list:
    return sorted((json.loads(path.read_text()) for path in folder.iterdir()), key=json.dumps)


def _recorder(folder: pathlib.Path, label: str):
    return label >> beam.Map(_record, str(folder))


def test_every_leaf_of_the_graph_runs(cluster, tmp_path):
    """Beam's DaskRunner computes the last leaf only: here the first two writers never ran."""

    def build(p):
        numbers = p | beam.Create(range(10))
        numbers | "Doubled" >> beam.Map(lambda n: ["doubled", 2 * n]) | _recorder(tmp_path, "Write1")
        numbers | "Squared" >> beam.Map(lambda n: ["squared", n * n]) | _recorder(tmp_path, "Write2")
        numbers | "Same" >> beam.Map(lambda n: ["same", n]) | _recorder(tmp_path, "Write3")

    _run(build, cluster)
    kinds = [kind for kind, _ in _recorded(tmp_path)]
    assert sorted(kinds) == sorted(["doubled"] * 10 + ["squared"] * 10 + ["same"] * 10)


class _EvenOrOdd(beam.DoFn):
    def process(self, n):
        yield n if n % 2 == 0 else beam.pvalue.TaggedOutput("odd", n)


def test_each_output_of_a_multi_output_pardo_gets_only_its_elements(cluster, tmp_path):
    """Beam's DaskRunner hands every consumer the producer's whole bag: evens and odds (as WindowedValues) mixed."""

    def build(p):
        split = p | beam.Create(range(300)) | beam.ParDo(_EvenOrOdd()).with_outputs("odd", main="even")
        split.even | "SumEven" >> beam.CombineGlobally(sum) | "E" >> beam.Map(lambda s: ["even", s]) | _recorder(tmp_path, "W1")
        split.odd | "SumOdd" >> beam.CombineGlobally(sum) | "O" >> beam.Map(lambda s: ["odd", s]) | _recorder(tmp_path, "W2")

    _run(build, cluster)
    assert _recorded(tmp_path) == [["even", sum(range(0, 300, 2))], ["odd", sum(range(1, 300, 2))]]


def test_what_finish_bundle_emits_is_kept(cluster, tmp_path):
    """Beam's DaskRunner collects a bundle's outputs before finish_bundle: BatchElements' last batch of each
    bundle (of 128 elements here) was lost, and with it part of everything RunInference returns."""

    def build(p):
        (
            p
            | beam.Create(range(1000))
            | beam.BatchElements(min_batch_size=7, max_batch_size=7)
            | beam.FlatMap(lambda batch: batch)
            | beam.combiners.Count.Globally()
            | _recorder(tmp_path, "W")
        )

    _run(build, cluster)
    assert _recorded(tmp_path) == [1000]


def test_a_side_input_is_computed_once(cluster, tmp_path):
    """Beam's DaskRunner computes a side input's upstream graph again inside every task that reads it."""
    calls, out = tmp_path / "calls", tmp_path / "out"
    calls.mkdir(), out.mkdir()

    def build(p):
        side = p | "Side" >> beam.Create(range(5)) | "Counted" >> beam.Map(lambda n, d: _record(n, d) or n, str(calls))
        (
            p
            | "Main" >> beam.Create(range(400))  # four partitions of 128 or fewer: four reading tasks
            | beam.Map(lambda n, values: n * sum(values), beam.pvalue.AsList(side))
            | beam.CombineGlobally(sum)
            | _recorder(out, "W")
        )

    _run(build, cluster)
    assert _recorded(out) == [10 * sum(range(400))]
    assert _recorded(calls) == [0, 1, 2, 3, 4]


def test_grouping_and_combining_are_exact_across_workers(cluster, tmp_path):
    """GroupByKey, CoGroupByKey, CombinePerKey, a global ToList and a Partition, over several partitions."""

    def build(p):
        words = p | "Words" >> beam.Create([f"w{i % 37}" for i in range(2000)])
        counts = words | "Pair" >> beam.Map(lambda w: (w, 1)) | beam.CombinePerKey(sum)
        grouped = words | "Pair2" >> beam.Map(lambda w: (w, 1)) | beam.GroupByKey() | beam.MapTuple(lambda w, ones: (w, len(ones)))
        lengths = p | "Lengths" >> beam.Create([(f"w{i}", len(f"w{i}")) for i in range(37)])
        joined = {"count": counts, "grouped": grouped, "length": lengths} | beam.CoGroupByKey()
        (
            joined
            | beam.MapTuple(lambda w, g: [w, list(g["count"]), list(g["grouped"]), list(g["length"])])
            | beam.combiners.ToList()
            | beam.Map(sorted)
            | _recorder(tmp_path, "W")
        )
        low, high = words | beam.Partition(lambda w, n: int(int(w[1:]) >= 20), 2)
        low | "CountLow" >> beam.combiners.Count.Globally() | "L" >> beam.Map(lambda n: ["low", n]) | _recorder(tmp_path, "WL")
        high | "CountHigh" >> beam.combiners.Count.Globally() | "H" >> beam.Map(lambda n: ["high", n]) | _recorder(tmp_path, "WH")

    _run(build, cluster)
    expected = sorted([f"w{i}", [sum(1 for j in range(2000) if j % 37 == i)] * 2, [len(f"w{i}")]] for i in range(37))
    joined = [[w, c + g, length] for w, c, g, length in next(v for v in _recorded(tmp_path) if isinstance(v[0], list))]
    assert joined == expected
    low = sum(1 for j in range(2000) if j % 37 < 20)
    assert [v for v in _recorded(tmp_path) if v[0] in ("low", "high")] == [["high", 2000 - low], ["low", low]]


class _SetUpOnce(beam.DoFn):
    """Records each setup and each element with the process that ran it; each element takes `seconds`."""

    def __init__(self, folder: str, seconds: float = 0.0):
        self._folder, self._seconds = folder, seconds

    def setup(self):
        _record(["setup", os.getpid()], self._folder)

    def process(self, n):
        time.sleep(self._seconds)
        _record(["element", os.getpid()], self._folder)
        yield n


def test_dofns_are_set_up_once_per_worker_process(cluster, tmp_path):
    """Beam's DaskRunner sets a DoFn up for every partition: here five times, a model load per bundle."""

    def build(p):
        p | beam.Create(range(600)) | beam.ParDo(_SetUpOnce(str(tmp_path)))

    _run(build, cluster)
    setups = [pid for kind, pid in _recorded(tmp_path) if kind == "setup"]
    workers = {pid for kind, pid in _recorded(tmp_path) if kind == "element"}
    assert sorted(setups) == sorted(workers), "one setup per worker process"


def test_a_reshuffle_spreads_the_work_over_the_workers(cluster, tmp_path):
    """Beam's DaskRunner keeps a small Create's elements in one partition after a Reshuffle: one worker does all."""

    def build(p):
        p | beam.Create(range(40)) | beam.Reshuffle() | beam.ParDo(_SetUpOnce(str(tmp_path), seconds=0.05))

    _run(build, cluster)
    assert len({pid for kind, pid in _recorded(tmp_path) if kind == "element"}) == 2


class _CountingHandler(ModelHandler):
    """A model that doubles numbers; every load is recorded with its process."""

    def __init__(self, folder: str):
        self._folder = folder

    def load_model(self):
        _record(os.getpid(), self._folder)
        return lambda n: 2 * n

    def run_inference(self, batch, model, inference_args=None):
        return [model(n) for n in batch]


def test_run_inference_loads_its_model_once_per_worker_process(cluster, tmp_path):
    loads, out = tmp_path / "loads", tmp_path / "out"
    loads.mkdir(), out.mkdir()

    def build(p):
        (
            p
            | beam.Create(range(1000))
            | beam.Reshuffle()
            | RunInference(_CountingHandler(str(loads)))
            | beam.CombineGlobally(sum)
            | _recorder(out, "W")
        )

    _run(build, cluster)
    assert _recorded(out) == [2 * sum(range(1000))]
    pids = _recorded(loads)
    assert len(pids) == len(set(pids)) <= 2


def test_a_flatten_and_a_shuffle_after_it_stay_within_the_partition_bound():
    """A Flatten adds up its inputs' partitions and dask's task shuffle makes ~n² tasks for n partitions: four
    Creates of 1,000 elements (32 partitions) grouped made ~1,400 tasks; bounded to 8 partitions, ~200."""
    from apache_beam.runners.dask.overrides import dask_overrides

    from newsbeam.pipelines.dask_runner import _BagVisitor

    pipeline = beam.Pipeline(runner=ExactDaskRunner())
    parts = tuple(pipeline | f"Create{i}" >> beam.Create(range(1000)) for i in range(4))
    parts | beam.Flatten() | beam.Map(lambda n: (n % 10, n)) | beam.GroupByKey()
    pipeline.replace_all(dask_overrides())
    visitor = _BagVisitor({}, partitions=8)
    pipeline.visit(visitor)
    (bag,) = visitor.leaves()  # the grouped values
    assert bag.npartitions <= 8
    assert len(bag.__dask_graph__()) < 400


def _partition_sizes(build, label: str, partitions: int = 4) -> list[int]:
    """Elements per partition of the PCollection labelled `label` in the pipeline `build(pipeline)` makes."""
    from apache_beam.runners.dask.overrides import dask_overrides

    from newsbeam.pipelines.dask_runner import _BagVisitor

    pipeline = beam.Pipeline(runner=ExactDaskRunner())
    build(pipeline)
    pipeline.replace_all(dask_overrides())
    visitor = _BagVisitor({}, partitions=partitions)
    pipeline.visit(visitor)
    (bag,) = [bag for pcoll, bag in visitor.bags.items() if pcoll.producer.full_label == label]
    return bag.map_partitions(lambda elements: [len(list(elements))]).compute(scheduler="sync")


def test_a_reshuffle_evens_out_partitions_it_already_has_enough_of():
    """One file read by one task: Beam's DaskRunner (and a split into more partitions) leaves the records
    where they are when the bag has enough partitions, so one worker normalises them all."""

    def build(p):
        files = p | beam.Create(range(8)) | "Files" >> beam.Reshuffle()  # four partitions, one with file 0
        one_file = files | beam.FlatMap(lambda n: range(1000) if n == 0 else [])
        one_file | "Spread" >> beam.Reshuffle() | "After" >> beam.Map(lambda n: n)

    sizes = _partition_sizes(build, "After")
    assert len(sizes) == 4 and sum(sizes) == 1000 and max(sizes) - min(sizes) <= 1


def test_a_flatten_spreads_each_input_over_the_partitions():
    """Flattening rows with URLs (none here) and rows without: concatenated neighbours gave half the
    partitions nothing, and detection and NER ran on half the workers."""

    def build(p):
        numbers = p | beam.Create(range(8)) | beam.Reshuffle()  # four partitions
        with_url = numbers | "WithUrl" >> beam.FlatMap(lambda n: [])
        without_url = numbers | "WithoutUrl" >> beam.FlatMap(lambda n: range(100))
        (with_url, without_url) | "Rows" >> beam.Flatten() | "After" >> beam.Map(lambda n: n)

    sizes = _partition_sizes(build, "After")
    assert len(sizes) == 4 and sum(sizes) == 800 and min(sizes) >= 150


def test_windowing_other_than_global_is_refused(cluster):
    def build(p):
        p | beam.Create([1, 2]) | beam.WindowInto(window.FixedWindows(60)) | beam.Map(print)

    with pytest.raises(NotImplementedError, match="only the global window"):
        _run(build, cluster)


def test_dask_workers_start_their_own_language_detector(tmp_path):
    """The launcher's detector helper listens on a Unix socket in its own temporary folder: a Dask run never
    starts it nor hands its address to the workers, each of which starts its own (as on other remote runners)."""
    from newsbeam.pipelines.ingest import IngestConfig, _local_detector
    from newsbeam.pipelines.runner import runs_on_this_machine

    options = PipelineOptions(["--runner", "dask", "--dask_client_address=tcp://127.0.0.1:8786"])
    assert not runs_on_this_machine(options)
    assert _local_detector(IngestConfig(sources=[], output=str(tmp_path), models={}), options) is None


# The whole ingest on a scheduler and two workers started as processes of their own.

PLACES = {
    "en": ["London", "Manchester", "Edinburgh", "Dublin", "New York"],
    "de": ["Berlin", "Hamburg", "München", "Frankfurt", "Köln"],
    "fr": ["Paris", "Lyon", "Marseille", "Bordeaux", "Toulouse"],
    "nl": ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Groningen"],
}
PEOPLE = ["Anna Schmidt", "Pierre Dubois", "Jan de Vries", "John Smith", "Maria Rossi", "Thomas Müller"]
SENTENCES = {
    "en": ["The city council of {place} approved a new budget on {day}, said {person}.",
           "Shares of the company rose sharply after strong results were reported in {place}.",
           "{person} warned that the weak economy could hurt families across the region.",
           "Officials in {place} expect the new railway line to open next year."],
    "de": ["Der Stadtrat von {place} hat am {day} einen neuen Haushalt beschlossen, sagte {person}.",
           "Die Aktien des Unternehmens stiegen deutlich, nachdem in {place} gute Zahlen gemeldet wurden.",
           "{person} warnte, dass die schwache Wirtschaft vielen Familien in der Region schaden könnte.",
           "Die Behörden in {place} erwarten, dass die neue Bahnstrecke im nächsten Jahr eröffnet wird."],
    "fr": ["Le conseil municipal de {place} a adopté un nouveau budget le {day}, a déclaré {person}.",
           "Les actions de l'entreprise ont fortement progressé après de bons résultats annoncés à {place}.",
           "{person} a averti que la faiblesse de l'économie pourrait nuire aux familles de la région.",
           "Les autorités de {place} prévoient l'ouverture de la nouvelle ligne ferroviaire l'an prochain."],
    "nl": ["De gemeenteraad van {place} heeft op {day} een nieuwe begroting goedgekeurd, zei {person}.",
           "De aandelen van het bedrijf stegen flink nadat in {place} goede resultaten werden gemeld.",
           "{person} waarschuwde dat de zwakke economie gezinnen in de regio kan schaden.",
           "De autoriteiten in {place} verwachten dat de nieuwe spoorlijn volgend jaar opengaat."],
}


def _articles(count: int, seed: int = 21578) -> list[str]:
    """JSON Lines of news-like articles in four languages, varied dates, places and people; a few ids twice
    (duplicates within the run) and one line that is not JSON (a dead letter)."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        language = rng.choice(sorted(PLACES))
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(365))
        fill = {"place": rng.choice(PLACES[language]), "person": rng.choice(PEOPLE), "day": day.isoformat()}
        text = " ".join(rng.choice(SENTENCES[language]).format(**fill) for _ in range(rng.randint(3, 8)))
        article = {"id": f"gen-{number}", "title": SENTENCES[language][number % 4].format(**fill)[:80], "text": text,
                   "published": f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"}
        lines.append(json.dumps(article, ensure_ascii=False))
    lines += [lines[3], lines[40], "{not json"]
    return lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, stopped after the module's tests."""
    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "w"))]
    try:
        for number in range(2):
            processes.append(subprocess.Popen(
                [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--local-directory", str(folder / f"worker-{number}"), "--name", f"w{number}"],
                env=env, stdout=subprocess.DEVNULL, stderr=open(folder / f"worker-{number}.log", "w")))  # fmt: skip
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _rows(path: pathlib.Path) -> list[dict]:
    """A dataset's rows in a stable order, without the wall-clock times of the row (`ingested_at`, a dead letter's `at`)."""
    table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(({k: v for k, v in row.items() if k not in ("ingested_at", "at")} for row in table), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _ingest(output: pathlib.Path, inputs: pathlib.Path, run_id: str, *beam_args: str) -> dict:
    argv = ["ingest", "--output", str(output), "--run-id", run_id, "--languages", "en,de,fr,nl",
            "--source", str(SAMPLES / "*.*"), "--source", str(inputs), *beam_args]  # fmt: skip
    assert main(argv) == 0
    return json.loads((output / "_runs" / f"{run_id}.json").read_text())


def test_workers_load_a_run_s_models_ahead_with_the_launcher_s_allocator_settings(dask_processes):
    from newsbeam.pipelines.dask_workers import start_loading_on_workers
    from newsbeam.transforms.enrich.registry import ModelRegistry

    def worker_state() -> dict:  # defined here, so that it travels by value to the workers
        """On a worker: its allocator thresholds and what it has loaded, process-wide."""
        from newsbeam.transforms.enrich import gazetteer, ner
        from newsbeam.transforms.normalise import detector_process

        return {
            "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "mmap": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
            "pipelines": len(ner._LOADED),
            "gazetteer": gazetteer._LOADED is not None,
            "helpers": sum(not helper.broken for helper in detector_process._HELPERS.values()),
        }

    models = ModelRegistry().resolve_all()
    options = PipelineOptions(["--runner", "dask", f"--dask_client_address={dask_processes}"])
    with distributed.Client(dask_processes, timeout=60) as client:
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) <= {"65536", str(256 * 1024 * 1024)}
        assert start_loading_on_workers(options, ("de", "en", "fr", "nl"), "refined", models) == 2
        deadline = time.monotonic() + 120
        while True:
            states = list(client.run(worker_state).values())
            if all(state["gazetteer"] for state in states) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    for state in states:  # Dask's nanny gave each worker a trim threshold of 64 KiB; newsbeam's replace it
        assert state["trim"] == str(256 * 1024 * 1024) and state["mmap"] == str(8 * 1024 * 1024)
        assert state["pipelines"] == len(set(models.values())) and state["gazetteer"] and state["helpers"] >= 1


def test_loading_ahead_needs_a_cluster_address():
    from newsbeam.pipelines.dask_workers import start_loading_on_workers

    assert start_loading_on_workers(PipelineOptions(["--runner", "dask"]), ("en",), "refined", {}) == 0


def test_ingest_on_dask_processes_equals_the_direct_runner(dask_processes, tmp_path):
    inputs = tmp_path / "articles.jsonl"
    inputs.write_text("\n".join(_articles(200)) + "\n", encoding="utf-8")
    direct = _ingest(tmp_path / "direct", inputs, "run-1")
    on_dask = _ingest(tmp_path / "dask", inputs, "run-1", "--runner", "dask", f"--dask_client_address={dask_processes}")

    assert on_dask["runner"] == "dask" and on_dask["state"] == "DONE"
    articles = _rows(tmp_path / "dask" / "articles")
    assert articles == _rows(tmp_path / "direct" / "articles")
    assert len(articles) == 210  # 200 generated + 10 in the samples
    assert {row["language"] for row in articles} == {"en", "de", "fr", "nl"}
    assert sum(len(row["entities"]) for row in articles) > 200
    assert _rows(tmp_path / "dask" / "errors") == _rows(tmp_path / "direct" / "errors")
    for key in ("totals", "sources", "partitions"):
        assert on_dask[key] == direct[key], key
    assert on_dask["totals"]["duplicates"] == 2 and on_dask["totals"]["failed"] == 1

    again = _ingest(tmp_path / "dask", inputs, "run-2", "--runner", "dask", f"--dask_client_address={dask_processes}")
    assert again["totals"]["written"] == 0 and again["totals"]["seen"] == 212  # both copies of the two duplicates
    assert _rows(tmp_path / "dask" / "articles") == articles
    hidden = [p for p in (tmp_path / "dask").rglob("*") if p.is_file() and p.name.startswith(".")]
    assert hidden == [] and not (tmp_path / "dask" / "_lock.json").exists()
