"""feed_state.py: JSON round trip through Beam FileSystems, atomic save, due/after_success/after_failure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.sources import feed_state
from newsbeam.transforms.sources.feed_state import FeedState, after_failure, after_success, backoff_delay, due
from newsbeam.transforms.sources.fetch import FetchError, FetchResult, RateLimited, Validators

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.timezone.utc)
URL = "https://example.org/feed.xml"


def result(status: int = 200, etag: str | None = '"e1"', last_modified: str | None = "Wed, 25 Nov 2026 10:00:00 GMT") -> FetchResult:
    return FetchResult(status, None if status == 304 else b"<rss/>", {}, URL, etag, last_modified, status == 304, 0.1, 1)


def test_load_of_missing_state_is_empty(tmp_path):
    assert feed_state.load(str(tmp_path / "out")) == {}


def test_save_load_round_trip_leaves_no_temporary_files(tmp_path):
    states = {
        URL: after_success(FeedState(URL), result(), NOW),
        "http://b/": after_failure(FeedState("http://b/"), RateLimited("rate_limited", "429", 429, NOW + dt.timedelta(hours=1)), NOW),
    }
    feed_state.save(str(tmp_path), states)
    feed_state.save(str(tmp_path), states)  # replacing an existing document works too
    assert feed_state.load(str(tmp_path)) == states
    assert [p.name for p in (tmp_path / "_state").iterdir()] == ["feeds.json"]
    document = json.loads((tmp_path / "_state" / "feeds.json").read_text())
    assert document["version"] == 1
    assert document["feeds"][URL]["last_success_at"] == "2026-11-26T07:00:00+00:00"


def test_unknown_version_is_refused(tmp_path):
    (tmp_path / "_state").mkdir()
    (tmp_path / "_state" / "feeds.json").write_text('{"version": 99, "feeds": {}}')
    with pytest.raises(ValueError, match="version"):
        feed_state.load(str(tmp_path))


def test_from_dict_ignores_unknown_keys_and_reads_naive_times_as_utc():
    state = FeedState.from_dict({"url": URL, "next_attempt_at": "2026-11-26T08:00:00", "new_field": 1})
    assert state.next_attempt_at == NOW + dt.timedelta(hours=1)


def test_due():
    assert due(None, NOW)
    assert due(FeedState(URL), NOW)
    assert not due(FeedState(URL, next_attempt_at=NOW + dt.timedelta(seconds=1)), NOW)
    assert due(FeedState(URL, next_attempt_at=NOW), NOW)


def test_after_success_stores_validators_and_clears_failures():
    failing = FeedState(URL, consecutive_failures=4, next_attempt_at=NOW, last_error="timeout", last_error_detail="x")
    state = after_success(failing, result(), NOW)
    assert state.validators() == Validators('"e1"', "Wed, 25 Nov 2026 10:00:00 GMT")
    assert (state.last_status, state.last_success_at, state.consecutive_failures) == (200, NOW, 0)
    assert (state.next_attempt_at, state.last_error, state.last_error_detail) == (None, None, None)


def test_304_without_validators_keeps_the_old_ones():
    known = FeedState(URL, etag='"e1"', last_modified="old")
    state = after_success(known, result(304, etag=None, last_modified=None), NOW)
    assert (state.etag, state.last_modified, state.last_status) == ('"e1"', "old", 304)


def test_200_without_validators_forgets_the_old_ones():
    state = after_success(FeedState(URL, etag='"e1"'), result(etag=None, last_modified=None), NOW)
    assert state.validators() == Validators()


def test_backoff_schedule():
    assert [backoff_delay(n) for n in (1, 2)] == [None, None]
    assert [backoff_delay(n) for n in (3, 4, 5)] == [dt.timedelta(minutes=m) for m in (15, 30, 60)]
    assert backoff_delay(10) == dt.timedelta(hours=24)
    assert backoff_delay(1000) == dt.timedelta(hours=24)


def test_failures_count_up_and_back_off_from_the_third():
    state = FeedState(URL, etag='"e1"')
    for expected in (None, None, NOW + dt.timedelta(minutes=15), NOW + dt.timedelta(minutes=30)):
        state = after_failure(state, FetchError("http_5xx", "HTTP 500", 500, transient=True), NOW)
        assert state.next_attempt_at == expected
    assert (state.consecutive_failures, state.last_error, state.last_status, state.etag) == (4, "http_5xx", 500, '"e1"')
    assert not due(state, NOW) and due(state, NOW + dt.timedelta(minutes=30))


def test_retry_after_wins_when_later_than_backoff():
    later = NOW + dt.timedelta(hours=2)
    state = after_failure(FeedState(URL), RateLimited("rate_limited", "HTTP 429", 429, later), NOW)
    assert (state.next_attempt_at, state.last_error, state.last_status) == (later, "rate_limited", 429)


def test_backoff_wins_when_later_than_retry_after():
    soon = NOW + dt.timedelta(minutes=1)
    state = after_failure(FeedState(URL, consecutive_failures=4), RateLimited("rate_limited", "", 429, soon), NOW)
    assert state.next_attempt_at == NOW + dt.timedelta(hours=1)


def test_parse_errors_and_unexpected_exceptions_are_recorded():
    parsed = after_failure(FeedState(URL), NewsbeamError("parse", "not_a_feed", "html"), NOW)
    assert (parsed.last_error, parsed.last_error_detail, parsed.last_status) == ("not_a_feed", "html", None)
    crashed = after_failure(FeedState(URL), KeyError("title"), NOW)
    assert (crashed.last_error, crashed.last_error_detail) == ("unexpected", "KeyError: 'title'")
