"""The offline DirectRunner's pipelines (pipelines/runner.py)."""

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.pipelines import runner


def test_in_process_pipelines_run_without_the_runner_api_self_test(monkeypatch, tmp_path):
    calls, to_runner_api = [], beam.Pipeline.to_runner_api

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("use_fake_coders", False))
        return to_runner_api(self, *args, **kwargs)

    monkeypatch.setattr(beam.Pipeline, "to_runner_api", counting)
    pipeline = runner.new_pipeline(PipelineOptions([]))
    out = tmp_path / "n"
    pipeline | beam.Create([1, 2, 3]) | beam.CombineGlobally(sum) | beam.Map(lambda n: out.write_text(str(n)))
    result = runner.run_to_completion(pipeline)
    assert result.state == "DONE" and out.read_text() == "6"
    assert True not in calls  # the round trip Beam makes as a self-test translates with fake coders
    assert calls  # the FnApiRunner's own translation


def test_only_the_in_memory_direct_runner_runs_in_this_process():
    assert runner.runs_in_this_process(PipelineOptions([]))
    assert runner.runs_in_this_process(PipelineOptions(["--runner=DirectRunner"]))
    assert not runner.runs_in_this_process(PipelineOptions(["--direct_running_mode=multi_processing"]))
    assert not runner.runs_in_this_process(PipelineOptions(["--runner=PortableRunner"]))


def test_every_direct_running_mode_runs_on_this_machine():
    assert runner.runs_on_this_machine(PipelineOptions([]))
    assert runner.runs_on_this_machine(PipelineOptions(["--direct_running_mode=multi_processing"]))
    assert not runner.runs_on_this_machine(PipelineOptions(["--runner=PortableRunner"]))
