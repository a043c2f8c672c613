"""End to end: `newsbeam ingest` against a real local server full of failing, hostile and slow feeds.

Each pipeline run costs seconds of start-up, so the scenarios share runs: one run over every kind of bad
source plus good feeds with validators (and the same sources again, to see conditional GET and Retry-After
honoured), and one run over 20 sources of which a third fail. What is proved: the run completes (exit 0),
every good article is written exactly once, every bad source leaves exactly one dead letter with the right
stage and reason, the per-feed state is in the run summary, and nothing a feed says reaches a file path
or the network.
"""

import datetime as dt
import json
import pathlib
import re

import pyarrow.dataset as ds
import pytest
from http_server import Response, TestServer, drip, feed, gzip_bomb, hang, html_page, http_date, redirect, status

from newsbeam.cli import main

# A slow endpoint costs the whole timeout; 3 s rather than 2 leaves good feeds room on a starved CI machine
# (the test server shares the process, and so the GIL, with the pipeline).
FETCH_OPTIONS = ["--fetch-timeout", "3", "--fetch-retries", "0", "--fetch-max-bytes", "100000"]
PUBLISHED = "Fri, 14 Mar 2025 08:30:00 GMT"
# Every file a run may leave: partitioned articles and dead letters, run summaries, the feed state store.
ALLOWED_PATH = re.compile(
    r"articles/date=\d{4}-\d{2}-\d{2}/lang=(?:[a-z]{2,3})/part-[\w-]+\.parquet"
    r"|errors/date=\d{4}-\d{2}-\d{2}/part-[\w-]+\.parquet"
    r"|_runs/[\w-]+\.json|_state/feeds\.json"
)


def _item(guid: str, title: str, text: str) -> str:
    return (f"<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title>"
            f"<link>https://news.example/{guid.rsplit(':', 1)[-1]}</link>"
            f"<pubDate>{PUBLISHED}</pubDate><description>{text}</description></item>")


def _rss(title: str, items: list[tuple[str, str, str]], head: str = "", prolog: str = "") -> bytes:
    """An RSS 2.0 document; `items` are (guid, title, text); `head` goes into the channel, `prolog` before <rss>."""
    body = "".join(_item(*item) for item in items)
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>{title}</title>'
            f"{head}{body}</channel></rss>").encode()


def _news(n: int, prefix: str) -> list[tuple[str, str, str]]:
    """`n` distinct English items with globally unique GUIDs."""
    return [(f"urn:newsbeam-test:{prefix}-{i}", f"{prefix} report number {i} on the harbour",
             f"The city council of Rotterdam discussed item {i} of the {prefix} harbour plan on Friday morning.")
            for i in range(n)]


def _run(server: TestServer, output: pathlib.Path, paths: list[str], run_id: str) -> int:
    argv = ["ingest", "--output", str(output), "--run-id", run_id, *FETCH_OPTIONS]
    for path in paths:
        argv += ["--source", server.url(path)]
    return main(argv)


def _articles(output: pathlib.Path) -> list[dict]:
    return ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table().to_pylist()


def _errors(output: pathlib.Path) -> list[dict]:
    return ds.dataset(str(output / "errors"), format="parquet", partitioning="hive").to_table().to_pylist()


def _summary(output: pathlib.Path, run_id: str) -> dict:
    return json.loads((output / "_runs" / f"{run_id}.json").read_text())


def _counts(counts: dict) -> dict:
    """The counts these tests are about, from a summary's totals or per-source entry (which has more fields)."""
    return {field: counts[field] for field in ("read", "written", "duplicates", "failed")}


# The hostile run: what each bad path serves, and the dead letter it must leave.
BAD = {
    "/e500.rss": (status(500), "fetch", "http_5xx"),
    "/e404.rss": (status(404), "fetch", "http_404"),
    "/e429.rss": (status(429, {"Retry-After": "3600"}), "fetch", "rate_limited"),
    "/loop-a.rss": (None, "fetch", "too_many_redirects"),  # routed to /loop-b.rss and back, in the fixture
    "/hang.rss": (hang(30), "fetch", "timeout"),
    "/drip.rss": (drip(_rss("Drip", _news(1, "drip")), 0.2), "fetch", "timeout"),
    "/big.rss": (Response(200, _rss("Big", [("urn:big:1", "Big", "x" * 150_000)]),
                          {"Content-Type": "application/rss+xml"}), "fetch", "too_large"),
    "/bomb.rss": (gzip_bomb(20 * 1024 * 1024), "fetch", "too_large"),
    "/page.html": (html_page(), "parse", "not_a_feed"),
}
ETAG_ITEMS, MODIFIED_ITEMS = _news(3, "etag"), _news(2, "modified")
LAST_MODIFIED = http_date(-3600)
BILLION_LAUGHS = _rss(
    "Laughs", [("urn:newsbeam-test:laughs-1", "Billion laughs &lol3;", "The council met on Monday. &lol3;")],
    prolog='<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
           '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
           '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
)
TRAVERSAL = _rss(
    "../../Traversal", [("../../../etc/passwd", "../../escape/attempt",
                         "The mayor opened the new bridge over the river on Friday afternoon.")],
    head="<language>../../x</language>",
)
TRUNCATED = _rss("Cut", _news(3, "truncated"))[:-120]  # inside the third item: its end and the channel are lost
CP1252 = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Stadt</title>'
          + _item("urn:newsbeam-test:cp1252-1", "Der Bürgermeister eröffnet die Brücke",
                  "„Endlich“, sagte der Bürgermeister über die neue Straße – sie kostete 5 Mio. €.")
          + "</channel></rss>").encode("cp1252")
# Undeclared ISO-8859-1 Portuguese that charset-normalizer takes for windows-1250 ("Ação" -> "Açăo"), and
# undeclared windows-1255 Hebrew, which decodes as cleanly as Cyrillic under windows-1251.
PORTUGUESE_TEXT = ("A Unidade de Ação Fiscal da GNR anunciou esta quarta-feira a apreensão de 124 mil cigarros, "
                   "numa ação de fiscalização na fronteira do Caia, no concelho de Elvas.")
LATIN1 = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Últimas</title>'
          + _item("urn:newsbeam-test:latin1-1", "Chegaram a Portugal com malas de tabaco dentro de táxis", PORTUGUESE_TEXT)
          + "</channel></rss>").encode("latin-1")
HEBREW_TEXT = ("ראש העירייה הודיע היום כי העבודות על הגשר החדש מעל הנהר יסתיימו בחודש הבא, "
               "לאחר עיכובים רבים שנגרמו בגלל מזג האוויר והמחסור בעובדים באזור.")
HEBREW = ('<?xml version="1.0"?><rss version="2.0"><channel><title>חדשות</title>'
          + _item("urn:newsbeam-test:hebrew-1", "חדשות העיר", HEBREW_TEXT) + "</channel></rss>").encode("cp1255")


def _xxe(secret_url: str) -> bytes:
    return _rss("External", [("urn:newsbeam-test:xxe-1", "External &xxe;", "Text &xxe; here.")],
                prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret_url}">]>')


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two runs over the same output and server; returns what each left, snapshotted before the next."""
    root = tmp_path_factory.mktemp("hostile")
    output = root / "out"
    with TestServer() as server:
        for path, (response, _stage, _reason) in BAD.items():
            if response is not None:
                server.route(path, response)
        server.route("/loop-a.rss", redirect(server.url("/loop-b.rss")))
        server.route("/loop-b.rss", redirect(server.url("/loop-a.rss")))
        server.route("/etag.rss", feed(_rss("ETag feed", ETAG_ITEMS), etag='"etag-v1"'))
        server.route("/modified.rss", feed(_rss("Modified feed", MODIFIED_ITEMS), last_modified=LAST_MODIFIED))
        server.route("/laughs.rss", feed(BILLION_LAUGHS))
        server.route("/secret", Response(200, b"TOPSECRET", {"Content-Type": "text/plain"}))
        server.route("/xxe.rss", feed(_xxe(server.url("/secret"))))
        server.route("/traversal.rss", feed(TRAVERSAL))
        server.route("/truncated.rss", feed(TRUNCATED))
        for path, body in (("/cp1252.rss", CP1252), ("/latin1.rss", LATIN1), ("/hebrew.rss", HEBREW)):
            server.route(path, feed(body, content_type="application/rss+xml"))  # no charset anywhere
        paths = [*BAD, "/etag.rss", "/modified.rss", "/laughs.rss", "/xxe.rss", "/traversal.rss",
                 "/truncated.rss", "/cp1252.rss", "/latin1.rss", "/hebrew.rss"]
        first_started = dt.datetime.now(dt.timezone.utc)
        first_status = _run(server, output, paths, "first")
        first = {"status": first_status, "started": first_started, "articles": _articles(output),
                 "errors": _errors(output), "summary": _summary(output, "first"),
                 "requests": {path: len(server.requests_to(path)) for path in [*paths, "/secret"]}}
        second_status = _run(server, output, paths, "second")
        second = {"status": second_status, "articles": _articles(output),
                  "errors": [e for e in _errors(output) if e["run_id"] == "second"],
                  "summary": _summary(output, "second"),
                  "requests": {path: server.requests_to(path)[first["requests"][path]:] for path in paths}}
        yield {"root": root, "output": output, "urls": {p: server.url(p) for p in paths}, "first": first,
               "second": second, "secret_requests": len(server.requests_to("/secret"))}


def test_one_dead_letter_per_bad_source_with_stage_and_reason(hostile):
    first, urls = hostile["first"], hostile["urls"]
    assert first["status"] == 0
    found = sorted((e["source"], e["stage"], e["reason"]) for e in first["errors"])
    assert found == sorted((urls[path], stage, reason) for path, (_r, stage, reason) in BAD.items())  # none else
    assert all(e["run_id"] == "first" and e["detail"] for e in first["errors"])


def test_good_articles_written_exactly_once(hostile):
    rows = hostile["first"]["articles"]
    assert len({r["id"] for r in rows}) == len(rows)  # no article twice
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], set()).add(row["title"])
    urls = hostile["urls"]
    assert by_source[urls["/etag.rss"]] == {title for _g, title, _t in ETAG_ITEMS}
    assert by_source[urls["/modified.rss"]] == {title for _g, title, _t in MODIFIED_ITEMS}
    assert not {urls[path] for path in BAD} & set(by_source)  # no partial article from a failed fetch
    summary = hostile["first"]["summary"]
    assert _counts(summary["sources"][urls["/etag.rss"]]) == {"read": 3, "written": 3, "duplicates": 0, "failed": 0}
    assert summary["sources"][urls["/e500.rss"]]["failed"] == 1


def test_feed_states_in_run_summary(hostile):
    first, urls = hostile["first"], hostile["urls"]
    feeds = first["summary"]["feeds"]
    assert set(feeds) == set(urls.values())
    limited = feeds[urls["/e429.rss"]]
    assert (limited["consecutive_failures"], limited["last_status"], limited["last_error"]) == (1, 429, "rate_limited")
    retry_at = dt.datetime.fromisoformat(limited["next_attempt_at"])
    assert dt.timedelta(minutes=59) < retry_at - first["started"] < dt.timedelta(minutes=62)
    failed = feeds[urls["/e500.rss"]]
    assert (failed["consecutive_failures"], failed["last_error"], failed["next_attempt_at"]) == (1, "http_5xx", None)
    assert feeds[urls["/hang.rss"]]["last_error"] == "timeout" and feeds[urls["/hang.rss"]]["last_status"] is None
    etag = feeds[urls["/etag.rss"]]
    assert (etag["etag"], etag["last_status"], etag["consecutive_failures"]) == ('"etag-v1"', 200, 0)
    assert feeds[urls["/modified.rss"]]["last_modified"] == LAST_MODIFIED


def test_second_run_uses_validators_and_honours_retry_after(hostile):
    second, urls = hostile["second"], hostile["urls"]
    assert second["status"] == 0
    failures = [(e["source"], e["reason"], e["detail"]) for e in second["errors"]]
    assert [len(second["requests"][path]) for path in ("/etag.rss", "/modified.rss")] == [1, 1], failures
    assert second["requests"]["/etag.rss"][0].headers["if-none-match"] == '"etag-v1"'
    assert second["requests"]["/modified.rss"][0].headers["if-modified-since"] == LAST_MODIFIED
    assert second["requests"]["/e429.rss"] == []  # skipped until its Retry-After
    assert len(second["requests"]["/e500.rss"]) == 1  # one failure is no reason to back off yet
    feeds = second["summary"]["feeds"]
    assert feeds[urls["/etag.rss"]]["last_status"] == 304 and feeds[urls["/modified.rss"]]["last_status"] == 304
    assert feeds[urls["/etag.rss"]]["etag"] == '"etag-v1"'  # kept across the 304
    assert feeds[urls["/e429.rss"]] == hostile["first"]["summary"]["feeds"][urls["/e429.rss"]]  # untouched
    assert feeds[urls["/e500.rss"]]["consecutive_failures"] == 2
    assert second["summary"]["totals"]["written"] == 0
    rows = second["articles"]
    assert len(rows) == len(hostile["first"]["articles"]) and len({r["id"] for r in rows}) == len(rows)
    assert urls["/e429.rss"] not in {e["source"] for e in second["errors"]}  # a skipped feed is no new failure


def test_entities_are_neither_expanded_nor_fetched(hostile):
    rows, urls = hostile["first"]["articles"], hostile["urls"]
    assert hostile["secret_requests"] == 0  # the SYSTEM entity's URL was never requested
    laughs = [r for r in rows if r["source"] == urls["/laughs.rss"]]
    xxe = [r for r in rows if r["source"] == urls["/xxe.rss"]]
    assert len(laughs) == 1 and len(xxe) == 1  # the items survive, without their entities
    assert "lollol" not in laughs[0]["title"] + laughs[0]["text"] and len(laughs[0]["text"]) < 200
    assert "TOPSECRET" not in xxe[0]["title"] + xxe[0]["text"]
    assert not [e for e in hostile["first"]["errors"] if e["source"] in (urls["/laughs.rss"], urls["/xxe.rss"])]


def test_feed_content_cannot_shape_file_paths(hostile):
    root, output = hostile["root"], hostile["output"]
    assert sorted(p.name for p in root.iterdir()) == ["out"]  # nothing written beside the output
    files = [str(p.relative_to(output)) for p in output.rglob("*") if p.is_file()]
    assert files and all(ALLOWED_PATH.fullmatch(f) for f in files), [f for f in files if not ALLOWED_PATH.fullmatch(f)]
    (row,) = [r for r in hostile["first"]["articles"] if r["source"] == hostile["urls"]["/traversal.rss"]]
    assert row["title"] == "../../escape/attempt" and row["language"] == "en"  # kept as data, not as a path


def test_truncated_feed_keeps_items_before_the_break(hostile):
    rows = [r for r in hostile["first"]["articles"] if r["source"] == hostile["urls"]["/truncated.rss"]]
    titles = {r["title"] for r in rows}
    assert {"truncated report number 0 on the harbour", "truncated report number 1 on the harbour"} <= titles


def test_undeclared_legacy_encodings_are_decoded(hostile):
    rows = {r["source"]: r for r in hostile["first"]["articles"]}
    german = rows[hostile["urls"]["/cp1252.rss"]]
    assert german["title"] == "Der Bürgermeister eröffnet die Brücke"
    assert "„Endlich“, sagte der Bürgermeister" in german["text"] and "5 Mio. €" in german["text"]
    assert german["language"] == "de"
    portuguese = rows[hostile["urls"]["/latin1.rss"]]
    assert portuguese["text"] == PORTUGUESE_TEXT and portuguese["title"].endswith("dentro de táxis")
    assert rows[hostile["urls"]["/hebrew.rss"]]["text"] == HEBREW_TEXT


def test_twenty_sources_a_third_failing_keep_every_good_article_once(tmp_path, http_server):
    """13 good feeds (one item syndicated in two of them) and 7 that fail in 7 different ways, in one run."""
    good = {f"/good{i}.rss": _news(3, f"good{i}") for i in range(13)}
    good["/good1.rss"].append(good["/good0.rss"][0])  # the same GUID from a second feed: written once
    for path, items in good.items():
        http_server.route(path, feed(_rss(path, items), etag=f'"{path}"'))
    failing = {
        "/f500.rss": (status(503), "http_5xx"),
        "/f404.rss": (status(410), "http_410"),
        "/f429.rss": (status(429, {"Retry-After": http_date(600)}), "rate_limited"),
        "/fhang.rss": (hang(30), "timeout"),
        "/fhtml.rss": (html_page("Not here"), "not_a_feed"),
        "/fbig.rss": (gzip_bomb(5 * 1024 * 1024), "too_large"),
        "/floop.rss": (redirect(http_server.url("/floop.rss"), 301), "too_many_redirects"),
    }
    for path, (response, _reason) in failing.items():
        http_server.route(path, response)
    paths = [*good, *failing]
    assert len(paths) == 20
    output = tmp_path / "out"
    assert _run(http_server, output, paths, "twenty") == 0
    rows = _articles(output)
    expected_ids = {guid for items in good.values() for guid, _title, _text in items}
    assert len(rows) == len(expected_ids) == 39 and len({r["id"] for r in rows}) == 39
    assert {r["title"] for r in rows} == {title for items in good.values() for _g, title, _t in items}
    reasons = sorted((e["source"], e["reason"]) for e in _errors(output))
    assert reasons == sorted((http_server.url(path), reason) for path, (_r, reason) in failing.items())
    totals = _summary(output, "twenty")["totals"]
    assert _counts(totals) == {"read": 40, "written": 39, "duplicates": 1, "failed": 7}
