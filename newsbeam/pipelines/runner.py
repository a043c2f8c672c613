"""The default runner: Beam's in-process runners, never Prism (whose binary Beam 2.77 would try to download)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
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
    """True for the runner names that mean "run here, in process"."""
    return runner_name in (None, "DirectRunner", "direct", "SwitchingDirectRunner")


def new_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner the options name, the offline DirectRunner when they name none."""
    runner = OfflineDirectRunner() if is_direct(options.view_as(StandardOptions).runner) else None
    return beam.Pipeline(runner=runner, options=options)
