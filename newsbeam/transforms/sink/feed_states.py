"""SaveFeedStates: merge this run's per-feed states into the state store kept with the output."""

from __future__ import annotations

import apache_beam as beam

from newsbeam.transforms.sources import feed_state


def _merge_and_save(updates: dict, previous: dict, output: str) -> None:
    if updates:  # a run without feed URLs leaves the store as it was
        feed_state.save(output, {**previous, **updates})


class SaveFeedStates(beam.PTransform):
    """(url, FeedState) pairs -> `<output>/_state/feeds.json`, keeping the states of feeds this run did not read."""

    def __init__(self, output: str, previous: dict):
        super().__init__()
        self._output = output
        self._previous = previous

    def expand(self, states):
        return (
            states
            | "StatesByUrl" >> beam.combiners.ToDict().without_defaults()
            | "MergeAndSave" >> beam.Map(_merge_and_save, self._previous, self._output)
        )
