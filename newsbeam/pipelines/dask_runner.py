"""`--runner dask`: Beam's DaskRunner, made exact for batch pipelines in the global window.

Beam 2.77's `apache_beam.runners.dask` translates a pipeline into `dask.bag` operations; as shipped it
loses or mixes data in several ways, each corrected here by a subclass or a replacement translation
(the rest of Beam's runner is used as it is):

- only the last transform's bag is computed, so every other leaf of the graph (a second writer, a
  dead-letter sink, a counter) never runs: `ExactDaskRunner` computes every leaf, together;
- bags are kept per transform, not per output, so a consumer of one output of a multi-output ParDo
  (`.with_outputs(...)`) receives all of them, the tagged ones as raw WindowedValues: `_ParDoOp` keeps
  (tag, value) pairs and each output PCollection gets its own bag;
- a bundle's outputs are collected before `finish_bundle`, so what a DoFn emits there (the last batch of
  `BatchElements`, hence of `RunInference`) is dropped: `_process_bundle` collects after it;
- a side input's bag is computed inside every task that reads it (its whole upstream graph again, per
  partition, with a nested compute on the worker): here it is a dependency of the task, computed once;
- DoFns are set up and torn down for every partition, so models load per bundle: here a worker process
  keeps set-up DoFn instances and reuses them across bundles, as Beam's SDK workers do;
- `Reshuffle` is an identity, so everything downstream of a small `Create` (or of one large file read by
  one task) stays in one partition on one worker: `_ReshuffleOp` deals the elements round-robin into as
  many partitions as the cluster has threads times four;
- a `Flatten` adds up its inputs' partitions and dask's task-based shuffle makes about n² tasks for n
  partitions, so a GroupByKey after a Flatten of a few PCollections becomes thousands of tiny tasks (9,000
  for newsbeam's graph on 100 articles): `_FlattenOp` and `_GroupByKeyOp` gather into that same number of
  partitions at most, each output taking every n-th input partition so that no input's rows crowd a few.

Elements travel as plain values: timestamps and windows are not kept between transforms, so pipelines with
non-global windowing are refused (`WindowInto` with another WindowFn) rather than run wrongly.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import operator
import threading
import typing as t
import uuid
from contextlib import contextmanager

import apache_beam as beam
import dask
import dask.bag as db
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from apache_beam import pvalue
from apache_beam.internal import pickler
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, Receiver, _OutputHandler
from apache_beam.runners.dask import transform_evaluator as upstream
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner, DaskRunnerResult
from apache_beam.runners.dask.overrides import (
    _Create,
    _Flatten,
    _GroupAlsoByWindow,
    _GroupByKeyOnly,
    _Reshuffle,
    dask_overrides,
)
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

# Partitions per cluster thread that a Reshuffle spreads to, and a Flatten or GroupByKey gathers into at most:
# enough for the scheduler to even out uneven bundles, few enough to keep a shuffle's n² tasks cheap.
PARTITIONS_PER_THREAD = 4
# Set-up DoFn instances a worker process keeps, by transform; the least recently used are torn down.
POOLED_TRANSFORMS = 256


class ExactDaskRunner(DaskRunner):
    """Runs a batch pipeline on a Dask cluster (`--dask_client_address`, or a new local cluster), every leaf of it."""

    def run_pipeline(self, pipeline, options):
        import dask.distributed as ddist

        dask_options = options.view_as(DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        threads = sum(client.nthreads().values()) or 1
        pipeline.replace_all(dask_overrides())
        visitor = _BagVisitor(bag_kwargs, partitions=bag_kwargs.get("npartitions") or threads * PARTITIONS_PER_THREAD)
        pipeline.visit(visitor)
        futures = client.compute([bag.map_partitions(_discard) for bag in visitor.leaves()])
        return _ClosingResult(client, futures)


class _ClosingResult(DaskRunnerResult):
    """Closes its client once the run is over: a process that runs many pipelines keeps no connection per run."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            return super().wait_until_finish(duration)
        finally:
            self.client.close()


def _discard(elements) -> list:
    """A leaf's partition computed for its effects; nothing travels back to the client."""
    return []


@dataclasses.dataclass
class _BagVisitor(PipelineVisitor):
    """Builds a bag per output PCollection of every primitive transform; remembers which bags nothing reads."""

    bag_kwargs: dict
    partitions: int  # what a Reshuffle spreads to, and a Flatten or GroupByKey gathers into at most
    bags: dict = dataclasses.field(default_factory=dict)  # PCollection -> its bag
    results: dict = dataclasses.field(default_factory=dict)  # AppliedPTransform -> the bag its op returned
    consumed: set = dataclasses.field(default_factory=set)  # PCollections some transform reads

    def visit_transform(self, node: AppliedPTransform) -> None:
        op = _translation(node)(node, bag_kwargs=self.bag_kwargs)
        if isinstance(op, _Repartitioning):
            op.partitions = self.partitions
        inputs = [value for value in node.inputs if not isinstance(value, pvalue.PBegin)]
        side_inputs = list(node.side_inputs)
        self.consumed.update(inputs)
        self.consumed.update(side.pvalue for side in side_inputs)
        input_bags = [self.bags[value] for value in inputs]
        if isinstance(op, upstream.Flatten):
            result = op.apply(input_bags)
        elif isinstance(op, _ParDoOp):
            result = op.apply(input_bags[0], [(side, self.bags[side.pvalue]) for side in side_inputs])
        else:
            result = op.apply(input_bags[0] if input_bags else None)
        self.results[node] = result
        for tag, output in node.outputs.items():
            self.bags[output] = op.output(result, tag)

    def leaves(self) -> list[db.Bag]:
        """The bags of transforms none of whose outputs another transform reads: computing them runs everything."""
        return [
            bag
            for node, bag in self.results.items()
            if bag is not None and not any(output in self.consumed for output in node.outputs.values())
        ]


class _SingleOutput:
    """Ops with one output: its bag is what `apply` returned."""

    def output(self, result: db.Bag, tag) -> db.Bag:
        return result


class _CreateOp(_SingleOutput, upstream.Create):
    pass


class _Repartitioning:
    """Ops that bound their output's number of partitions; the runner sets `partitions` from the cluster's size."""

    partitions: int = 1

    def gathered(self, bag: db.Bag) -> db.Bag:
        """`bag` in at most `partitions` partitions, partition i joining output i % `partitions`.

        A Flatten's partitions are its inputs' one after the other; concatenating neighbours (dask's
        `repartition`) would give the first outputs only the first input's rows, so an empty input (no
        article with a URL) left half the partitions empty and half the workers idle downstream.
        """
        if bag.npartitions <= self.partitions:
            return bag
        name = "beam-gather-" + tokenize(bag, self.partitions)
        layer = {
            (name, j): (_concatenated, [(bag.name, i) for i in range(j, bag.npartitions, self.partitions)])
            for j in range(self.partitions)
        }
        return db.Bag(HighLevelGraph.from_collections(name, layer, dependencies=[bag]), name, self.partitions)


def _concatenated(parts: list) -> list:
    return [element for part in parts for element in part]


class _FlattenOp(_SingleOutput, _Repartitioning, upstream.Flatten):
    def apply(self, input_bag: list[db.Bag], side_inputs=None) -> db.Bag:
        return self.gathered(super().apply(input_bag))


class _GroupByKeyOp(_SingleOutput, _Repartitioning, upstream.DaskBagOp):
    """Groups by key with dask's task-based shuffle, which hashes keys the same way in every worker process
    (the disk-based one, dask's default without a distributed client, only works within one machine)."""

    def apply(self, input_bag: db.Bag, side_inputs=None) -> db.Bag:
        return self.gathered(input_bag).groupby(_key, shuffle="tasks").map(_values_of_group)


def _key(item):
    return item[0]


def _values_of_group(group):
    key, items = group
    return key, [upstream.defenestrate(item[1]) for item in items]


class _IdentityOp(_SingleOutput, upstream.NoOp):
    """Transforms that change nothing about plain values in the global window."""


class _ReshuffleOp(_SingleOutput, _Repartitioning, upstream.DaskBagOp):
    """Reshuffle: the elements dealt round-robin into `partitions` partitions of (nearly) equal size, so that
    what follows spreads over the workers however the input was split (one large file read by one task)."""

    def apply(self, input_bag: db.Bag, side_inputs=None) -> db.Bag:
        n, token = self.partitions, tokenize(input_bag, self.partitions)
        dealt, picked, name = f"beam-deal-{token}", f"beam-dealt-{token}", f"beam-reshuffle-{token}"
        layer = {}
        for i in range(input_bag.npartitions):  # partition i starts dealing at output i, so small ones spread too
            layer[(dealt, i)] = (_dealt, (input_bag.name, i), n, i)
            for j in range(n):  # only its own share travels to each output
                layer[(picked, i, j)] = (operator.getitem, (dealt, i), j)
        for j in range(n):
            layer[(name, j)] = (_concatenated, [(picked, i, j) for i in range(input_bag.npartitions)])
        return db.Bag(HighLevelGraph.from_collections(name, layer, dependencies=[input_bag]), name, n)


def _dealt(elements, outputs: int, first: int) -> list[list]:
    """`elements` dealt into `outputs` lists like cards, the first to list `first`."""
    hands: list[list] = [[] for _ in range(outputs)]
    for number, element in enumerate(elements):
        hands[(first + number) % outputs].append(element)
    return hands


@dataclasses.dataclass
class _Bundle:
    """What a task needs to run one ParDo over a partition; the DoFn travels pickled, as to Beam's SDK workers."""

    key: str  # this ParDo in this run: pooled DoFn instances are looked up by it
    label: str
    serialized_fn: bytes
    args: list
    kwargs: dict
    window_fn: t.Any
    side_views: list  # (view class, view options) of each side input, in order


class _ParDoOp(upstream.DaskBagOp):
    """ParDo: a bag of (tag, value) per bundle (tag None for the main output), split per output by `output`."""

    def apply(self, input_bag: db.Bag, side_inputs: list) -> db.Bag:
        transform = t.cast(beam.ParDo, self.transform)
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(self.applied.main_inputs.values()))
        bundle = _Bundle(
            key=uuid.uuid4().hex,
            label=self.applied.full_label,
            serialized_fn=pickler.dumps(transform.fn),
            args=list(args),
            kwargs=kwargs,
            window_fn=main_input.windowing.windowfn if hasattr(main_input, "windowing") else None,
            side_views=[(type(view), view._view_options()) for view, _ in side_inputs],
        )
        side_values = [dask.delayed(list)(bag) for _, bag in side_inputs]
        return input_bag.map_partitions(_process_bundle, bundle, *side_values, token=_token(self.applied))

    def output(self, result: db.Bag, tag) -> db.Bag:
        return result.map_partitions(_values_tagged, tag, token=f"{_token(self.applied)}-{tag or 'main'}")


def _token(node: AppliedPTransform) -> str:
    return "beam-" + "".join(c if c.isalnum() else "-" for c in node.full_label)


def _values_tagged(pairs: list, tag) -> list:
    return [value for output_tag, value in pairs if output_tag == tag]


class _TagReceiver(Receiver):
    def __init__(self, tag, outputs: list):
        self._tag, self._outputs = tag, outputs

    def receive(self, windowed_value: WindowedValue) -> None:
        self._outputs.append((self._tag, windowed_value.value))


class _Receivers(dict):
    """A receiver per output tag, made when the DoFn first emits to it; all append to `outputs`."""

    def __init__(self):
        super().__init__()
        self.outputs: list = []

    def __missing__(self, tag):
        receiver = self[tag] = _TagReceiver(tag, self.outputs)
        return receiver


def _process_bundle(elements, bundle: _Bundle, *side_values) -> list:
    """One bundle: start_bundle, process every element, finish_bundle; the (tag, value) outputs of all three."""
    receivers = _Receivers()
    side_inputs = [
        SideInputMap(view_class, view_options, [_in_global_window(value) for value in values])
        for (view_class, view_options), values in zip(bundle.side_views, side_values)
    ]
    handler = _OutputHandler(
        window_fn=bundle.window_fn,
        main_receivers=receivers[None],
        tagged_receivers=receivers,
        per_element_output_counter=None,
        output_batch_converter=None,
        process_yields_batches=False,
        process_batch_yields_elements=False,
    )
    with _pooled_instance(bundle) as (fn, fresh):
        invoker = DoFnInvoker.create_invoker(
            DoFnSignature(fn),
            handler,
            context=DoFnContext(bundle.label, state=None),
            side_inputs=side_inputs,
            input_args=bundle.args,
            input_kwargs=bundle.kwargs,
            user_state_context=None,
            bundle_finalizer_param=beam.DoFn.BundleFinalizerParam(),
        )
        if fresh:
            invoker.invoke_setup()
        invoker.invoke_start_bundle()
        for element in elements:
            invoker.invoke_process(_in_global_window(element))
        invoker.invoke_finish_bundle()
    return receivers.outputs


def _in_global_window(value) -> WindowedValue:
    return value if isinstance(value, WindowedValue) else GlobalWindows.windowed_value(value)


_IDLE: collections.OrderedDict[str, list] = collections.OrderedDict()  # bundle key -> set-up DoFns not in use
_IDLE_LOCK = threading.Lock()


@contextmanager
def _pooled_instance(bundle: _Bundle):
    """A set-up DoFn instance of this ParDo for one bundle (fresh: not set up yet), back in the pool afterwards.

    Instances are per process and per thread at a time, as in Beam's SDK workers: a model a DoFn loads in
    `setup` is loaded once per worker process and thread, not once per bundle. A bundle that fails tears
    its instance down.
    """
    with _IDLE_LOCK:
        idle = _IDLE.get(bundle.key)
        fn = idle.pop() if idle else None
    fresh = fn is None
    if fresh:
        fn = pickler.loads(bundle.serialized_fn)
    try:
        yield fn, fresh
    except BaseException:
        _tear_down([fn])
        raise
    with _IDLE_LOCK:
        _IDLE.setdefault(bundle.key, []).append(fn)
        _IDLE.move_to_end(bundle.key)
        evicted = _IDLE.popitem(last=False)[1] if len(_IDLE) > POOLED_TRANSFORMS else []
    _tear_down(evicted)


def _tear_down(fns: list) -> None:
    for fn in fns:
        try:
            DoFnSignature(fn).teardown_lifecycle_method.method_value()
        except Exception:  # best effort, as in Beam: teardown may not even run
            pass


@atexit.register
def _tear_down_pooled() -> None:
    with _IDLE_LOCK:
        pooled = [fn for fns in _IDLE.values() for fn in fns]
        _IDLE.clear()
    _tear_down(pooled)


class _WindowIntoOp(_IdentityOp):
    """WindowInto the global window changes nothing; any other WindowFn is refused."""

    def apply(self, input_bag: db.Bag, side_inputs=None) -> db.Bag:
        windowfn = self.transform.get_windowing(None).windowfn
        if not isinstance(windowfn, GlobalWindows):
            raise NotImplementedError(f"{self.applied.full_label}: only the global window runs on Dask, not {windowfn}")
        return input_bag


_TRANSLATIONS = {
    _Create: _CreateOp,
    beam.ParDo: _ParDoOp,
    _GroupByKeyOnly: _GroupByKeyOp,
    _GroupAlsoByWindow: _IdentityOp,  # values are grouped in the global window already
    _Flatten: _FlattenOp,
    _Reshuffle: _ReshuffleOp,
    beam.WindowInto: _WindowIntoOp,
}


def _translation(node: AppliedPTransform):
    """The op of a primitive transform; one this runner cannot run is refused before anything runs."""
    op = _TRANSLATIONS.get(type(node.transform))
    if op is None:
        raise NotImplementedError(f"{node.full_label}: {type(node.transform).__name__} does not run on Dask")
    return op

