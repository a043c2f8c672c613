"""The default runner: Beam's in-process runners, never Prism (whose binary Beam 2.77 would try to download)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner, DirectRunner
from apache_beam.runners.portability.fn_api_runner import fn_runner


class OfflineDirectRunner(DirectRunner):
    """DirectRunner without the Prism attempt: FnApiRunner for batch, the bundle-based runner for streaming.

    The FnApiRunner honours --direct_num_workers and --direct_running_mode like the DirectRunner does.
    """

    def run_pipeline(self, pipeline, options):
        if options.view_as(StandardOptions).streaming:
            return BundleBasedDirectRunner().run_pipeline(pipeline, options)
        return fn_runner.FnApiRunner().run_pipeline(pipeline, options)


def is_direct(runner_name: str | None) -> bool:
    """True for the runner names that mean Beam's runner on this machine (in this process unless multi_processing)."""
    return runner_name in (None, "DirectRunner", "direct", "SwitchingDirectRunner")


def runs_in_this_process(options: PipelineOptions) -> bool:
    """True when the pipeline's transforms execute in this very process (the DirectRunner, not multi_processing)."""
    in_memory = options.view_as(DirectOptions).direct_running_mode != "multi_processing"
    return runs_on_this_machine(options) and in_memory


def runs_on_this_machine(options: PipelineOptions) -> bool:
    """True when every worker of the pipeline runs on this machine: the DirectRunner in any running mode."""
    return is_direct(options.view_as(StandardOptions).runner)


def new_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner the options name, the offline DirectRunner when they name none."""
    name = options.view_as(StandardOptions).runner
    runner = OfflineDirectRunner() if is_direct(name) else dask_runner() if name == "dask" else None
    return beam.Pipeline(runner=runner, options=options)


def dask_runner():
    """`--runner dask`: Beam's DaskRunner with the fixes that make it exact (see dask_runner.py)."""
    try:
        from newsbeam.pipelines.dask_runner import ExactDaskRunner
    except ImportError as error:
        raise ImportError(f"--runner dask needs Dask: pip install 'newsbeam[dask]' ({error})") from None
    return ExactDaskRunner()


def run_to_completion(pipeline: beam.Pipeline):
    """Run a pipeline made by `new_pipeline`, wait for it and return its result.

    Beam round-trips a graph through its runner API before running it, as a self-test, unless the runner
    goes through the Fn API anyway; it knows that of its own DirectRunner's batch pipelines but not of ours,
    which run on the same FnApiRunner. Skipping it saves ~0.2 s of CPU per pipeline (a chunked run has three).
    """
    in_process = isinstance(pipeline.runner, OfflineDirectRunner)
    result = pipeline.run(test_runner_api=False if in_process else "AUTO")
    result.wait_until_finish()
    return result
