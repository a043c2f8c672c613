"""encoding.py: right decoding whatever the declarations say, no entity expansion, HTML detected as not a feed."""

from __future__ import annotations

import codecs
import random
import time

import feedparser
import pytest

from http_server import Response, feed, html_page
from newsbeam.errors import NewsbeamError
from newsbeam.transforms.sources.encoding import (
    feedparser_headers,
    looks_like_html_not_feed,
    prepare_feed,
    prepare_feed_bytes,
    safe_parse,
)
from newsbeam.transforms.sources.feeds import parse_feed
from newsbeam.transforms.sources.fetch import FetchSettings, fetch

WORD = "Bürgermeister"
GERMAN = (
    '<rss version="2.0"><channel><title>Stadtnachrichten</title><item><title>Der Bürgermeister grüßt</title>'
    "<description>Öffentliche Sitzung über die Straßenbahn, „Zukunft“ für 5 €.</description></item></channel></rss>"
)
RUSSIAN = (
    '<rss version="2.0"><channel><title>Новости</title><item><title>Бургомистр Москвы ответил на вопросы журналистов</title>'
    "<description>Мэр рассказал о планах на следующий год.</description></item></channel></rss>"
)


def decl(encoding: str | None) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else ""


def first_title(body: bytes, headers: dict | None = None) -> str:
    parsed = safe_parse(body, headers or {})
    assert parsed.version and not looks_like_html_not_feed(body, headers)
    return parsed.entries[0].title


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param((decl("utf-8") + GERMAN).encode("utf-8"), {}, id="utf8-declared"),
        pytest.param(GERMAN.encode("utf-8"), {}, id="utf8-undeclared"),
        pytest.param(codecs.BOM_UTF8 + GERMAN.encode("utf-8"), {}, id="utf8-bom"),
        pytest.param((decl("iso-8859-1") + GERMAN).encode("utf-8"), {}, id="utf8-declared-latin1-in-xml"),
        pytest.param(GERMAN.encode("utf-8"), {"Content-Type": "text/xml; charset=ISO-8859-1"}, id="utf8-declared-latin1-in-http"),
        pytest.param((decl("windows-1252") + GERMAN).encode("cp1252"), {}, id="cp1252-declared"),
        pytest.param((decl("iso-8859-1") + GERMAN).encode("cp1252"), {}, id="cp1252-declared-as-latin1"),
        pytest.param(GERMAN.encode("cp1252"), {}, id="cp1252-undeclared"),
        pytest.param((decl("utf-8") + GERMAN).encode("cp1252"), {}, id="cp1252-declared-utf8"),
        pytest.param(GERMAN.encode("cp1252"), {"Content-Type": "application/rss+xml; charset=utf-8"}, id="cp1252-http-utf8"),
        pytest.param(GERMAN.encode("cp1252"), {"Content-Type": "text/xml; charset=us-ascii"}, id="cp1252-http-ascii"),
        pytest.param((decl("iso-8859-15") + GERMAN.replace("„", '"').replace("“", '"')).encode("iso-8859-15"), {}, id="latin9-declared"),
        pytest.param((decl("utf-16") + GERMAN).encode("utf-16"), {}, id="utf16-bom"),
        pytest.param((decl("utf-16") + GERMAN).encode("utf-16-be"), {}, id="utf16be-no-bom"),
        pytest.param((decl("utf-16") + GERMAN).encode("utf-16-le"), {}, id="utf16le-no-bom"),
    ],
)
def test_buergermeister_survives(body, headers):
    title = first_title(body, headers)
    assert "Bürgermeister grüßt" in title and "Ã" not in title


def test_windows_1252_punctuation_is_kept_when_declared_latin1():
    parsed = safe_parse((decl("iso-8859-1") + GERMAN).encode("cp1252"))
    assert "„Zukunft“ für 5 €" in parsed.entries[0].description


def test_latin1_bytes_with_cp1252_holes_still_decode():
    body = (decl("iso-8859-1") + GERMAN).encode("latin-1", "replace") + b"<!-- \x81\x8d -->"
    assert "Bürgermeister" in first_title(body)


@pytest.mark.parametrize(
    ("declared", "headers"),
    [
        pytest.param("windows-1251", {}, id="declared"),
        pytest.param(None, {}, id="undeclared"),
        pytest.param("iso-8859-1", {}, id="declared-latin1-in-xml"),
        pytest.param("windows-1251", {"Content-Type": "text/xml; charset=ISO-8859-1"}, id="http-latin1-xml-1251"),
    ],
)
def test_windows_1251_russian(declared, headers):
    assert first_title((decl(declared) + RUSSIAN).encode("cp1251"), headers) == "Бургомистр Москвы ответил на вопросы журналистов"


def test_prepared_bytes_are_utf8_with_one_utf8_declaration():
    data = prepare_feed_bytes(("  " + decl("iso-8859-1") + GERMAN).encode("latin-1", "replace"))
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert data.count(b"<?xml") == 1
    assert WORD.encode("utf-8") in data
    assert prepare_feed_bytes(GERMAN.encode("utf-8")).startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<rss')
    single_quoted = prepare_feed_bytes(b"<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?><rss/>")
    assert single_quoted.startswith(b"<?xml version='1.0' encoding=\"utf-8\" standalone='yes'?><rss/>")


def test_prepare_feed_reports_source_encoding_and_headers_for_feedparser():
    prepared = prepare_feed(GERMAN.encode("cp1252"), {"Content-Type": "text/xml; charset=iso-8859-1", "Content-Location": "http://x/"})
    assert prepared.source_encoding == "cp1252"
    assert prepared.response_headers == {"content-type": "application/xml; charset=utf-8", "content-location": "http://x/"}


def test_control_characters_are_removed_so_the_strict_parser_succeeds():
    parsed = safe_parse(GERMAN.replace("grüßt", "grüßt\x0b\x1a").encode("utf-8"))
    assert not parsed.bozo and parsed.entries[0].title == "Der Bürgermeister grüßt"


def test_binary_junk_is_bad_encoding():
    with pytest.raises(NewsbeamError) as caught:
        prepare_feed(random.Random(0).randbytes(4000))
    assert (caught.value.stage, caught.value.reason) == ("parse", "bad_encoding")


def test_bad_character_references_cost_no_item():
    body = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lone "&#xDBFF;">]><rss version="2.0"><channel>
<item><title>Good &#8217;</title></item>
<item><title>Lone &#55296; and &#xdc00; and &lone;</title></item>
<item><title>Pair &#55357;&#56832; and &#xD83D;&#xDE00;</title></item>
<item><title>Beyond &#1114112; and &#x110000; and &#""" + b"9" * 5000 + b""";</title></item>
</channel></rss>"""
    records = list(parse_feed(body, source="f.rss"))
    assert [r["title"] for r in records] == ["Good \u2019", "Lone \ufffd and \ufffd and \ufffd",
                                             "Pair \U0001f600 and \U0001f600", "Beyond \ufffd and \ufffd and \ufffd"]


# Hostile and legitimate DOCTYPEs.

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>B\xc3\xbcrgermeister &lol9;</title></item></channel></rss>
"""


def test_billion_laughs_is_not_expanded():
    start = time.monotonic()
    prepared = prepare_feed_bytes(BILLION_LAUGHS)
    parsed = safe_parse(BILLION_LAUGHS)
    assert time.monotonic() - start < 2
    assert b"<!ENTITY" not in prepared and b"<!DOCTYPE lolz>" in prepared
    assert "lollol" not in parsed.feed.get("title", "") and "lollol" not in parsed.entries[0].title
    assert WORD in parsed.entries[0].title


def external_entity_feed(url: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss SYSTEM "{url}/dtd" [
  <!ENTITY xxe SYSTEM "{url}/secret">
  <!ENTITY pub PUBLIC "-//X//Y//EN" "{url}/public">
  <!ENTITY % param SYSTEM "{url}/param">
  %param;
]>
<rss version="2.0"><channel><title>t &xxe; &pub;</title><item><title>{WORD}</title></item></channel></rss>
""".encode("utf-8")


def test_external_entities_are_neither_fetched_nor_expanded(http_server):
    for path in ("/dtd", "/secret", "/public", "/param"):
        http_server.route(path, Response(200, b"LEAKED", {"Content-Type": "text/plain"}))
    body = external_entity_feed(http_server.base_url)
    parsed = safe_parse(body)
    assert "LEAKED" not in parsed.feed.get("title", "")
    assert parsed.entries[0].title == WORD
    assert b"<!ENTITY" not in prepare_feed_bytes(body)
    time.sleep(0.1)
    assert http_server.requests == []


def test_simple_literal_entities_are_substituted_outside_cdata():
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY id "tag:example.com,">
  <!ENTITY tricky "a]>b">
]>
<rss version="2.0"><channel><item><guid isPermaLink="false">&id;2006-05-04:/blog/</guid>
<title>&tricky;</title><description><![CDATA[&id; stays]]></description></item></channel></rss>"""
    parsed = safe_parse(body)
    assert not parsed.bozo
    entry = parsed.entries[0]
    assert (entry.id, entry.title) == ("tag:example.com,2006-05-04:/blog/", "a]>b")
    assert entry.description.startswith("&amp;id") and "tag:" not in entry.description  # feedparser escapes the raw &


def test_quadratic_blowup_is_refused():
    body = ('<!DOCTYPE rss [<!ENTITY a "' + "x" * 1000 + '">]><rss><channel><title>' + "&a;" * 2000 + "</title></channel></rss>").encode()
    with pytest.raises(NewsbeamError) as caught:
        prepare_feed(body)
    assert (caught.value.stage, caught.value.reason) == ("parse", "xml_entities_forbidden")


def test_unterminated_doctype_is_refused():
    with pytest.raises(NewsbeamError) as caught:
        prepare_feed(b'<!DOCTYPE rss [ <!ENTITY a "x">\n<rss></rss>')
    assert caught.value.reason == "xml_entities_forbidden"


def test_doctype_without_subset_and_doctype_text_in_content_are_kept():
    netscape = b"""<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>t</title></channel></rss>"""
    assert safe_parse(netscape).version == "rss091n"
    cdata = b"<!-- <!DOCTYPE [ --><rss><item><description><![CDATA[ <!DOCTYPE ]]></description></item></rss>"
    assert safe_parse(cdata).entries[0].description == "<!DOCTYPE"


def test_original_content_type_must_not_reach_feedparser():
    """Why feedparser_headers exists: feedparser lets an HTTP charset override the UTF-8 declaration."""
    headers = {"content-type": "text/xml; charset=windows-1251", "content-location": "http://x/feed"}  # as FetchResult has them
    prepared = prepare_feed_bytes(RUSSIAN.encode("cp1251"), headers)
    assert feedparser.parse(prepared, response_headers=headers).entries[0].title.startswith("Р‘")  # mojibake
    assert feedparser.parse(prepared, response_headers=feedparser_headers(headers)).entries[0].title.startswith("Бургомистр")
    assert feedparser_headers(headers) == {"content-type": "application/xml; charset=utf-8", "content-location": "http://x/feed"}


# HTML instead of a feed: feedparser finds no version and no entries, and the document is a page.

HTML_PAGES = [
    b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Hello</p></body></html>",
    b'<head><title>Document Moved</title></head><body><h1>Object Moved</h1><a HREF="http://x/">here</a></body>',
    b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- generated --><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
]


@pytest.mark.parametrize("body", HTML_PAGES)
@pytest.mark.parametrize("content_type", ["text/html", "application/rss+xml"])
def test_html_pages_are_not_feeds(body, content_type):
    parsed = safe_parse(body, {"Content-Type": content_type})
    assert not parsed.version and not parsed.entries
    assert looks_like_html_not_feed(body, {"Content-Type": content_type})


@pytest.mark.parametrize(("body", "content_type", "html"), [
    (b"", "text/html", True),
    (b"Service temporarily unavailable", "text/html; charset=utf-8", True),
    (b"Service temporarily unavailable", "text/plain", False),
    (b"<error><code>42</code></error>", "application/xml", False),
])
def test_other_non_feeds_are_html_only_by_content_type(body, content_type, html):
    parsed = safe_parse(body, {"Content-Type": content_type})
    assert not parsed.version and not parsed.entries
    assert looks_like_html_not_feed(body, {"Content-Type": content_type}) is html


@pytest.mark.parametrize(
    "body",
    [
        GERMAN.encode("utf-8"),
        b'<?xml version="1.0"?><!DOCTYPE html><feed xmlns="http://www.w3.org/2005/Atom"><title>No entries yet</title></feed>',
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>',
        "\ufeff<!-- <html> --><rss version='2.0'><channel><title>t</title></channel></rss>".encode("utf-16"),
    ],
)
def test_feeds_are_feeds_even_when_served_as_html(body):
    headers = {"Content-Type": "text/html; charset=utf-8"}
    assert safe_parse(body, headers).version
    assert not looks_like_html_not_feed(body, headers)


def test_end_to_end_fetch_then_parse(http_server):
    http_server.route("/latin1.xml", feed((decl("iso-8859-1") + GERMAN).encode("latin-1", "replace"), etag='"1"',
                                         content_type="text/xml; charset=iso-8859-1"))
    http_server.route("/page", html_page("Shop"))
    settings = FetchSettings(total_deadline=5)
    result = fetch(http_server.url("/latin1.xml"), settings=settings)
    assert WORD in safe_parse(result.body, result.headers, result.final_url).entries[0].title
    page = fetch(http_server.url("/page"), settings=settings)
    parsed = safe_parse(page.body, page.headers, page.final_url)
    assert not parsed.version and looks_like_html_not_feed(page.body, page.headers)


def test_feedparser_alone_would_garble_what_we_fix():
    """Guards the premise: raw feedparser trusts a wrong declaration and returns mojibake."""
    body = (decl("iso-8859-1") + RUSSIAN).encode("cp1251")
    assert feedparser.parse(body).entries[0].title.startswith("Áóðãîìèñòð")
    assert first_title(body).startswith("Бургомистр")
