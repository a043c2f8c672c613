"""fetch.py against a real local HTTP server: statuses, retries, deadlines, size limits, conditional GET."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import tracemalloc
import zlib

import pyarrow.dataset as ds
import pytest

import newsbeam
from http_server import Request, Response, drip, feed, gzip_bomb, gzipped, hang, http_date, redirect, slow_headers, status
from newsbeam.cli import main
from newsbeam.errors import NewsbeamError
from newsbeam.transforms.sources.fetch import (
    FetchError,
    FetchSettings,
    RateLimited,
    Validators,
    fetch,
    parse_retry_after,
)

RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title></channel></rss>'
FAST = FetchSettings(connect_timeout=1.0, read_timeout=1.0, total_deadline=2.0, backoff_base=0.01)


def fetch_error(url: str, settings: FetchSettings = FAST, validators: Validators | None = None) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, validators, settings)
    assert isinstance(caught.value, NewsbeamError) and caught.value.stage == "fetch"
    return caught.value


def test_ok_returns_body_headers_validators_and_sends_identity(http_server):
    modified = http_date(-3600)
    http_server.route("/feed", feed(RSS, etag='"v1"', last_modified=modified))
    result = fetch(http_server.url("/feed"), settings=FAST)
    assert (result.status, result.body, result.not_modified, result.attempts) == (200, RSS, False, 1)
    assert result.headers["content-type"] == "application/rss+xml"
    assert (result.etag, result.last_modified) == ('"v1"', modified)
    assert result.final_url == http_server.url("/feed")
    assert 0 < result.elapsed < 2
    sent = http_server.requests_to("/feed")[0].headers
    assert sent["user-agent"] == f"newsbeam/{newsbeam.__version__} (+https://github.com/newsbeam/newsbeam)"
    assert "gzip" in sent["accept-encoding"] and "if-none-match" not in sent


def test_conditional_get_gets_304_then_new_content(http_server):
    modified = http_date(-60)
    http_server.route("/feed", feed(RSS, etag='"v1"', last_modified=modified))
    first = fetch(http_server.url("/feed"), settings=FAST)

    second = fetch(http_server.url("/feed"), Validators(first.etag, first.last_modified), FAST)
    assert (second.status, second.not_modified, second.body) == (304, True, None)
    assert (second.etag, second.last_modified) == ('"v1"', modified)
    sent = http_server.requests_to("/feed")[1].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == ('"v1"', modified)

    http_server.route("/feed", feed(RSS.replace(b">T<", b">T2<"), etag='"v2"'))
    third = fetch(http_server.url("/feed"), Validators(first.etag, first.last_modified), FAST)
    assert (third.status, third.etag) == (200, '"v2"') and b">T2<" in third.body


def test_last_modified_alone_is_enough_for_304(http_server):
    modified = http_date(-60)
    http_server.route("/feed", feed(RSS, last_modified=modified))
    assert fetch(http_server.url("/feed"), Validators(last_modified=modified), FAST).not_modified


@pytest.mark.parametrize(("code", "reason"), [(404, "http_404"), (410, "http_410"), (403, "http_4xx"), (400, "http_4xx")])
def test_client_errors_are_not_retried(http_server, code, reason):
    http_server.route("/x", status(code))
    error = fetch_error(http_server.url("/x"))
    assert (error.reason, error.status) == (reason, code)
    assert len(http_server.requests_to("/x")) == 1


def test_server_errors_are_retried_then_reported(http_server):
    http_server.route("/x", status(500))
    assert fetch_error(http_server.url("/x")).reason == "http_5xx"
    assert len(http_server.requests_to("/x")) == 1 + FAST.retries


def test_501_is_not_retried(http_server):
    http_server.route("/x", status(501))
    assert fetch_error(http_server.url("/x")).reason == "http_5xx"
    assert len(http_server.requests_to("/x")) == 1


def test_transient_failure_then_success_counts_attempts(http_server):
    answers = iter([status(502), status(500), Response(200, RSS)])
    http_server.route("/x", lambda request: next(answers))
    result = fetch(http_server.url("/x"), settings=FAST)
    assert (result.status, result.attempts, result.body) == (200, 3, RSS)


def test_429_carries_retry_after_seconds_and_is_not_retried(http_server):
    http_server.route("/x", status(429, {"Retry-After": "120"}))
    before = dt.datetime.now(dt.timezone.utc)
    error = fetch_error(http_server.url("/x"))
    assert isinstance(error, RateLimited) and error.reason == "rate_limited" and error.status == 429
    assert before + dt.timedelta(seconds=119) <= error.retry_after <= before + dt.timedelta(seconds=125)
    assert error.retry_after.tzinfo is not None
    assert len(http_server.requests_to("/x")) == 1


def test_503_with_http_date_retry_after_is_not_retried(http_server):
    http_server.route("/x", status(503, {"Retry-After": http_date(600)}))
    error = fetch_error(http_server.url("/x"))
    assert isinstance(error, RateLimited) and error.reason == "http_5xx"
    expected = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=600)
    assert abs((error.retry_after - expected).total_seconds()) < 5
    assert len(http_server.requests_to("/x")) == 1


def test_503_without_retry_after_is_retried_and_gets_default(http_server):
    http_server.route("/x", status(503))
    error = fetch_error(http_server.url("/x"))
    assert isinstance(error, RateLimited)
    expected = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=FAST.default_retry_after)
    assert abs((error.retry_after - expected).total_seconds()) < 5
    assert len(http_server.requests_to("/x")) == 1 + FAST.retries


def test_parse_retry_after_forms_and_cap():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    settings = FetchSettings(default_retry_after=60, max_retry_after=3600)
    assert parse_retry_after("30", now, settings) == now + dt.timedelta(seconds=30)
    assert parse_retry_after("Thu, 01 Jan 2026 00:10:00 GMT", now, settings) == now + dt.timedelta(minutes=10)
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now, settings) == now  # in the past: now
    assert parse_retry_after("soon", now, settings) == now + dt.timedelta(seconds=60)
    assert parse_retry_after(None, now, settings) == now + dt.timedelta(seconds=60)
    assert parse_retry_after("999999", now, settings) == now + dt.timedelta(hours=1)


def test_redirects_are_followed_to_final_url(http_server):
    http_server.route("/old", redirect("/middle", 301))
    http_server.route("/middle", redirect(http_server.url("/feed"), 307))
    http_server.route("/feed", feed(RSS))
    result = fetch(http_server.url("/old"), settings=FAST)
    assert (result.body, result.final_url) == (RSS, http_server.url("/feed"))


def test_redirect_loop_stops_at_max_redirects(http_server):
    http_server.route("/a", redirect("/b"))
    http_server.route("/b", redirect("/a"))
    error = fetch_error(http_server.url("/a"), FetchSettings(max_redirects=3, total_deadline=2))
    assert error.reason == "too_many_redirects"
    assert len(http_server.requests) == 4


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://x", "not a url", "http://"])
def test_only_http_urls(url):
    assert fetch_error(url).reason == "bad_url"


def test_redirect_to_other_scheme_is_refused(http_server):
    http_server.route("/x", redirect("file:///etc/passwd"))
    assert fetch_error(http_server.url("/x")).reason == "bad_url"


def test_connection_refused_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert error.reason == "connection_error" and error.transient


def test_response_that_never_comes_times_out_within_the_deadline(http_server):
    http_server.route("/x", hang(30))
    settings = FetchSettings(read_timeout=0.5, total_deadline=1.5, backoff_base=0.01)
    start = time.monotonic()
    assert fetch_error(http_server.url("/x"), settings).reason == "timeout"
    assert time.monotonic() - start < settings.total_deadline + 0.5
    assert len(http_server.requests_to("/x")) >= 2  # timeouts are retried while time remains


def test_dripping_body_stops_at_the_total_deadline(http_server):
    http_server.route("/x", drip(RSS, 0.8))  # each byte well within the read timeout, the next one after the deadline
    settings = FetchSettings(read_timeout=5, total_deadline=1.0, retries=0)
    start = time.monotonic()
    assert fetch_error(http_server.url("/x"), settings).reason == "timeout"
    assert time.monotonic() - start < settings.total_deadline + 0.35  # not at the next byte (1.6 s)


def test_headers_sent_a_byte_at_a_time_stop_at_the_total_deadline(http_server):
    http_server.route("/x", slow_headers(RSS, 0.3))  # each byte well within the read timeout; all of them take ~25 s
    settings = FetchSettings(read_timeout=5, total_deadline=1.5, retries=2, backoff_base=0.01)
    start = time.monotonic()
    error = fetch_error(http_server.url("/x"), settings)
    assert error.reason == "timeout" and error.transient
    assert time.monotonic() - start < settings.total_deadline + 0.5


def test_body_shorter_than_its_content_length_is_truncated(http_server):
    http_server.route("/x", Response(200, RSS[:40], {"Content-Length": str(len(RSS))}))
    http_server.route("/gz", Response(200, gzipped(RSS).body[:30], {"Content-Encoding": "gzip",
                                                                    "Content-Length": str(len(gzipped(RSS).body))}))
    for path in ("/x", "/gz"):
        error = fetch_error(http_server.url(path), FetchSettings(retries=1, backoff_base=0.01))
        assert error.reason == "truncated" and error.transient, error
        assert len(http_server.requests_to(path)) == 2  # a cut connection may be a passing fault: retried
    assert "40 of 98 bytes" in fetch_error(http_server.url("/x"), FetchSettings(retries=0)).detail


def test_oversized_body_with_content_length(http_server):
    http_server.route("/x", Response(200, b"x" * 5000))
    assert fetch_error(http_server.url("/x"), FetchSettings(max_bytes=1000)).reason == "too_large"


def test_oversized_body_without_content_length(http_server):
    http_server.route("/x", Response(200, [b"x" * 700] * 10))
    assert fetch_error(http_server.url("/x"), FetchSettings(max_bytes=1000)).reason == "too_large"


def test_gzip_bomb_stops_at_max_bytes_without_inflating(http_server):
    http_server.route("/bomb", gzip_bomb(64 * 1024 * 1024))
    tracemalloc.start()
    try:
        error = fetch_error(http_server.url("/bomb"), FetchSettings(max_bytes=1024 * 1024))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.reason == "too_large"
    assert peak < 8 * 1024 * 1024


def test_gzip_and_deflate_bodies_are_decoded(http_server):
    http_server.route("/gz", gzipped(RSS))
    http_server.route("/zlib", Response(200, zlib.compress(RSS), {"Content-Encoding": "deflate"}))
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    http_server.route("/raw", Response(200, raw.compress(RSS) + raw.flush(), {"Content-Encoding": "deflate"}))
    for path in ("/gz", "/zlib", "/raw"):
        assert fetch(http_server.url(path), settings=FAST).body == RSS


def test_corrupt_or_unknown_content_encoding(http_server):
    http_server.route("/bad", Response(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    http_server.route("/br", Response(200, b"????", {"Content-Encoding": "br"}))
    assert fetch_error(http_server.url("/bad")).reason == "bad_content_encoding"
    assert fetch_error(http_server.url("/br")).reason == "bad_content_encoding"


def test_server_records_requests_and_serves_404_for_unknown_paths(http_server):
    assert fetch_error(http_server.url("/nowhere")).reason == "http_404"
    assert [r.path for r in http_server.requests] == ["/nowhere"]
    assert isinstance(http_server.requests[0], Request)



def test_slow_headers_and_a_cut_body_are_dead_letters_while_a_good_feed_is_written(tmp_path, http_server):
    """One run: a feed whose headers would take a minute, one cut short, and a good one."""
    good = RSS.replace(b"</channel>", b"<item><guid>urn:test:good-1</guid><title>Harbour plan approved</title>"
                                       b"<description>The council of Rotterdam approved the harbour plan on Friday."
                                       b"</description></item></channel>")
    slow = slow_headers(good, 0.3)
    slow.headers["X-Padding"] = "p" * 150  # ~200 header bytes: a minute at this pace
    http_server.route("/slow.rss", slow)
    http_server.route("/cut.rss", Response(200, good[:120], {"Content-Type": "application/rss+xml",
                                                             "Content-Length": str(len(good))}))
    http_server.route("/good.rss", feed(good))
    output = tmp_path / "out"
    argv = ["ingest", "--output", str(output), "--run-id", "deadline", "--fetch-timeout", "2", "--fetch-retries", "0"]
    for path in ("/slow.rss", "/cut.rss", "/good.rss"):
        argv += ["--source", http_server.url(path)]
    start = time.monotonic()
    assert main(argv) == 0
    assert time.monotonic() - start < 45  # the slow feed alone would hold the run for over a minute
    errors = ds.dataset(str(output / "errors"), format="parquet", partitioning="hive").to_table().to_pylist()
    assert sorted((e["source"], e["stage"], e["reason"]) for e in errors) == [
        (http_server.url("/cut.rss"), "fetch", "truncated"), (http_server.url("/slow.rss"), "fetch", "timeout")]
    articles = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table().to_pylist()
    assert [(a["source"], a["title"]) for a in articles] == [(http_server.url("/good.rss"), "Harbour plan approved")]
    feeds = json.loads((output / "_runs" / "deadline.json").read_text())["feeds"]
    assert feeds[http_server.url("/slow.rss")]["last_error"] == "timeout"
