"""Source specs, sources files and article-file readers."""

import os

import pytest

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.normalise.dates import parse_published
from newsbeam.transforms.sources import articles
from newsbeam.transforms.sources.specs import (
    SourceInput,
    SourceSpec,
    UnreadableFile,
    expand,
    parse_sources_file,
    sniff_kind,
)

REFERENCE_STYLE = " date 2022-09 De Russische terugtrekking in Charkiv verloopt chaotisch.\n\nTweede alinea over Kiev.\n"


def test_reference_prefix_is_metadata_not_text():
    record = articles.read_text_article(REFERENCE_STYLE, source="a.txt")
    assert record["date_raws"] == ["2022-09"]
    assert record["text"].startswith("De Russische terugtrekking")
    assert "date 2022-09" not in record["text"]
    assert record["title"] is None and record["url"] is None


def test_header_lines_before_a_blank_line():
    record = articles.read_text_article(
        "title: Hallo\nurl: https://x.nl/a\ndate: 2022-09-11\nlanguage: nl\nauthor: A; B\n\nBody.\n\nSecond.", source="h.txt"
    )
    assert record["title"] == "Hallo"
    assert record["url"] == "https://x.nl/a"
    assert record["date_raws"] == ["2022-09-11"]
    assert record["language_hint"] == "nl"
    assert record["authors"] == ["A", "B"]
    assert record["text"] == "Body.\n\nSecond."


def test_text_that_only_looks_like_a_header_stays_text():
    record = articles.read_text_article("Note: this is body text\n\nMore.", source="n.txt")
    assert record["text"].startswith("Note: this is body text")
    assert record["title"] is None


def test_empty_text_file_is_an_error():
    with pytest.raises(NewsbeamError) as raised:
        articles.read_text_article(" date 2022-09    \n", source="e.txt")
    assert raised.value.reason == "empty_text"


def test_non_utf8_article_file_is_an_error():
    with pytest.raises(NewsbeamError) as raised:
        articles.decode_text("Bürgermeister".encode("latin-1"), "x.txt")
    assert raised.value.reason == "bad_encoding"


def test_jsonl_good_and_bad_lines():
    lines = [
        b'{"id": 7, "title": "T", "text": "Body", "published": "2022-09-11", "authors": ["A"], "language": "en"}',
        b"not json",
        b'{"title": "no text"}',
        b"[1, 2]",
        b"",
    ]
    out = list(articles.read_jsonl_articles(lines, source="f.jsonl"))
    assert out[0]["explicit_id"] == "7" and out[0]["authors"] == ["A"] and out[0]["date_raws"] == ["2022-09-11"]
    assert [e.reason for e in out[1:]] == ["bad_json", "empty_text", "bad_json"]
    assert "f.jsonl:2" in out[1].detail


def test_html_article_extracts_main_text_and_metadata():
    page = (
        b"<html><head><title>Page</title><meta name='author' content='Jan Jansen'>"
        b"<meta property='article:published_time' content='2023-03-01T10:00:00+02:00'></head>"
        b"<body><nav>menu items</nav><article><h1>Big news today</h1><p>"
        + b"A long paragraph about the news of the day. " * 15
        + b"</p></article><footer>copyright notice</footer></body></html>"
    )
    record = articles.read_html_article(page, source="p.html")
    assert record["title"] == "Big news today"
    assert "A long paragraph" in record["text"] and "copyright notice" not in record["text"]
    assert record["authors"] == ["Jan Jansen"]
    assert record["date_raws"][0].startswith("2023-03-01T10:00:00")


@pytest.mark.parametrize(
    "meta, raw, precision",
    [
        ("<meta property='article:published_time' content='2024-03-05'>", "2024-03-05", "day"),
        ("<time datetime='2024-03-05'>5 maart 2024</time>", "2024-03-05", "day"),
        ("<meta property='article:published_time' content='2024-03-05T14:30:00+01:00'>", "2024-03-05T14:30:00+0100", "second"),
    ],
)
def test_html_article_date_keeps_the_precision_the_page_gives(meta, raw, precision):
    page = (
        f"<html><head><title>T</title>{meta}</head><body><article><p>".encode()
        + b"Dit is een lange zin over het nieuws van vandaag. " * 20
        + b"</p></article></body></html>"
    )
    record = articles.read_html_article(page, source="p.html")
    assert record["date_raws"] == [raw]
    assert parse_published(raw).precision == precision


def test_sources_file_lines_and_toml(tmp_path):
    plain = tmp_path / "sources.txt"
    plain.write_text("# my feeds\nhttps://a.example/feed.xml name=A language=nl\n\n/data/x.txt  # trailing comment\nhttps://b.example/#frag\n")
    specs = parse_sources_file(str(plain))
    assert specs == [
        SourceSpec("https://a.example/feed.xml", "A", "nl"),
        SourceSpec("/data/x.txt"),
        SourceSpec("https://b.example/#frag"),
    ]
    toml = tmp_path / "sources.toml"
    toml.write_text('[[source]]\nlocation = "https://c.example/rss"\nlanguage = "fr"\n')
    assert parse_sources_file(str(toml)) == [SourceSpec("https://c.example/rss", None, "fr")]
    bad = tmp_path / "bad.txt"
    bad.write_text("https://a.example/ colour=blue\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        parse_sources_file(str(bad))


def test_expand_folder_glob_and_missing(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.rss").write_text("<rss/>")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "notes.md").write_text("x")
    folder = expand(SourceSpec(str(tmp_path)))
    assert [(i.location.rsplit("/", 1)[-1], i.kind) for i in folder] == [("a.txt", "text"), ("b.rss", "feed")]
    assert [i.kind for i in expand(SourceSpec(str(tmp_path / "*.txt")))] == ["text"]
    assert expand(SourceSpec("https://example.org/feed"))[0].kind == "feed"
    with pytest.raises(NewsbeamError) as raised:
        expand(SourceSpec(str(tmp_path / "missing-*.xml")))
    assert raised.value.reason == "not_found"


def test_expand_names_a_file_by_its_resolved_absolute_path_however_it_is_spelled(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.jsonl").write_text("{}")
    (tmp_path / "link").symlink_to(tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    absolute = os.path.realpath(tmp_path / "src" / "a.jsonl")
    spellings = ["src/a.jsonl", "./src/a.jsonl", absolute, "src/../src/a.jsonl", "link/a.jsonl", "src/*.jsonl", "src",
                 "./src/"]
    assert {spelling: [i.location for i in expand(SourceSpec(spelling))] for spelling in spellings} == {
        spelling: [absolute] for spelling in spellings}


def test_expand_skips_the_output_folder_inside_a_glob_or_folder(tmp_path, monkeypatch):
    (tmp_path / "data" / "out" / "_runs").mkdir(parents=True)
    (tmp_path / "data" / "a.txt").write_text("x")
    (tmp_path / "data" / "out" / "_runs" / "run.json").write_text("{}")
    (tmp_path / "data" / "out" / "part-1.parquet").write_bytes(b"PAR1")
    (tmp_path / "data" / "out" / "b.txt").write_text("x")
    (tmp_path / "data" / "outside.txt").write_text("x")  # shares the output's name as a prefix only
    monkeypatch.chdir(tmp_path)
    expected = [str(tmp_path / "data" / "a.txt"), str(tmp_path / "data" / "outside.txt")]
    for pattern in ("data/**", "data/*", "data", "./data/**.txt"):
        assert [i.location for i in expand(SourceSpec(pattern), exclude="data/out")] == expected, pattern
    assert len(expand(SourceSpec("data/**"))) == 5  # without an output to skip, everything that matched


def test_expand_reports_a_file_name_that_is_not_utf8_and_keeps_the_others(tmp_path):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"bad\xff.txt"), "wb") as handle:
        handle.write(b"The council met on Friday.")
    (tmp_path / "good.txt").write_text("The mayor spoke on Monday.")
    for spec in (SourceSpec(str(tmp_path)), SourceSpec(str(tmp_path / "*.txt"))):
        bad, good = expand(spec)
        assert isinstance(bad, UnreadableFile) and (bad.stage, bad.reason) == ("fetch", "bad_file_name")
        assert bad.location == f"{tmp_path}/bad\\xff.txt" and bad.location.encode("utf-8")
        assert isinstance(good, SourceInput) and good.location == str(tmp_path / "good.txt")


@pytest.mark.parametrize(
    "head, kind",
    [(b"\xef\xbb\xbf<?xml version='1.0'?><rss>", "feed"), (b"<!DOCTYPE html><html>", "html"), (b'{"text": 1}', "jsonl"), (b"Plain", "text")],
)
def test_sniff_kind(head, kind):
    assert sniff_kind(head) == kind
