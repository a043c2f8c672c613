"""Unit tests of the pure normalisation helpers: text clean-up, URL canonicalisation, identity."""

import pytest

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.normalise import identity
from newsbeam.transforms.normalise.text import clean_text, html_to_text, single_line, to_plain_text
from newsbeam.transforms.normalise.urls import canonical_url


def test_html_to_text_drops_scripts_styles_and_keeps_paragraphs():
    markup = "<p>Hallo &amp; <b>welkom</b></p><script>alert('x')</script><style>p{}</style><p>Tweede&nbsp;alinea<br>regel</p>"
    assert html_to_text(markup) == "Hallo & welkom\n\nTweede alinea\nregel"


def test_html_comments_and_processing_instructions_are_not_text():
    assert html_to_text("<p>a<!-- secret --> b</p>") == "a b"


def test_html_to_text_keeps_a_text_node_over_ten_million_characters():
    text = "a" * 10_000_001  # over libxml2's default limit for one text node, which drops it and all after it
    assert html_to_text(f"<p>{text}</p><p>after</p>") == f"{text}\n\nafter"


def test_html_to_text_keeps_nesting_deeper_than_the_default_parser_limit_and_the_recursion_limit():
    assert html_to_text("<div>" * 300 + "deep" + "</div>" * 300 + "<p>after</p>") == "deep\n\nafter"
    assert html_to_text("<span>" * 1500 + "deeper" + "</span>" * 1500) == "deeper"


def test_html_beyond_even_the_lifted_parser_limits_is_an_error_not_empty_text():
    with pytest.raises(NewsbeamError) as raised:
        html_to_text("<div>" * 3000 + "too deep" + "</div>" * 3000)
    assert (raised.value.stage, raised.value.reason) == ("normalise", "too_deep")


def test_clean_text_nfc_whitespace_and_control_characters():
    decomposed = "Cafe\u0301\u00a0 \t bar\r\n\r\n\r\n\x00volgende"
    assert clean_text(decomposed) == "Café bar\n\nvolgende"


def test_plain_text_with_a_less_than_sign_is_not_treated_as_html():
    assert to_plain_text("a < b and c > d") == "a < b and c > d"


def test_single_line_title():
    assert single_line("  <b>Big</b>\n news  ") == "Big news"
    assert single_line("   ") is None


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTPS://Example.COM:443/a/b?utm_source=x&id=3#frag", "https://example.com/a/b?id=3"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x?fbclid=1&gclid=2", "http://example.com:8080/x"),
        ("https://example.com/p?b=2&a=1&utm_campaign=z", "https://example.com/p?b=2&a=1"),
        ("ftp://example.com/file", None),
        ("/relative/path", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_content_hash_ignores_case_punctuation_and_spacing():
    assert identity.content_hash("Title", "Some  text, here.") == identity.content_hash("title", "some text here")
    assert identity.content_hash("Title", "Some text") != identity.content_hash("Title", "Other text")


def test_identity_rules():
    hashed = identity.content_hash(None, "x")
    assert identity.identity_key("urn:uuid:1", "https://a/", hashed, "s1") == "uri:urn:uuid:1"
    assert identity.identity_key("42", "https://a/", hashed, "feedA") == "local:feedA#42"
    assert identity.identity_key(None, "https://a/", hashed, "s") == "url:https://a/"
    assert identity.identity_key(None, None, hashed, "s") == f"content:{hashed}"
    # A local id is scoped by source: the same `42` in two feeds is two articles.
    assert identity.article_id(identity.identity_key("42", None, hashed, "A")) != identity.article_id(
        identity.identity_key("42", None, hashed, "B")
    )
    # A global id is not: the same GUID URL from two feeds is one article.
    assert identity.identity_key("https://x/1", None, hashed, "A") == identity.identity_key("https://x/1", None, hashed, "B")
    assert len(identity.article_id("anything")) == 32
