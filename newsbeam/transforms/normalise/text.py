"""Text clean-up: HTML to plain text, Unicode NFC, whitespace folded, paragraphs kept."""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.html
from lxml import etree

from newsbeam.errors import NewsbeamError

# Elements whose content is never article text.
_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head", "form", "button")
# Elements that end a paragraph (or a line, for br/li) when rendered.
_BLOCK = frozenset(
    "p div section article header footer aside blockquote pre h1 h2 h3 h4 h5 h6 ul ol dl table tr figure "
    "figcaption main nav address hr".split()
)
_LINE = frozenset(("br", "li", "dt", "dd", "td", "th"))

_TAG_HINT = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?\s*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_PARA_BREAK = re.compile(r"\s*\n\s*\n\s*")
_LINE_BREAK = re.compile(r"[^\S\n]*\n[^\S\n]*")


def looks_like_html(value: str) -> bool:
    """True when the string contains markup or character references worth parsing as HTML."""
    return bool(_TAG_HINT.search(value))


def html_to_text(markup: str) -> str:
    """Render an HTML fragment or page as plain text: scripts and styles dropped, entities decoded, paragraphs kept.

    Raises NewsbeamError('normalise', 'too_large' or 'too_deep') for markup beyond even the lifted parser limits
    (a text node over 1 GB, nesting over 2048): libxml2 would silently drop the rest of it.
    """
    if not markup or not markup.strip():
        return ""
    # huge_tree lifts libxml2's limits of 10,000,000 bytes per text node and 256 levels of nesting, beyond
    # which it drops content without an error. lxml's HTML parser never fetches external resources and
    # does not expand DTD entities.
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return clean_text(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    exceeded = exceeded_parser_limit(parser)
    if exceeded:
        raise NewsbeamError("normalise", exceeded[0], f"HTML beyond the parser's limits ({exceeded[1]})")
    for node in list(root.iter(*_DROP)):
        node.drop_tree()
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    return clean_text("".join(_rendered(root)))


def exceeded_parser_limit(parser: etree.HTMLParser) -> tuple[str, str] | None:
    """(reason, libxml2's message) when the parser's last document hit one of libxml2's resource limits, else None.

    libxml2 then drops the rest of the text node or subtree and carries on, so what was parsed is not the document.
    """
    for entry in parser.error_log:
        if entry.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            return ("too_deep" if "depth" in entry.message.lower() else "too_large"), entry.message.strip()
    return None


def _rendered(root) -> list[str]:
    """The text of `root` in document order, with paragraph and line breaks for block and line elements.

    Walked with iterwalk rather than recursion: nesting may be deeper than Python's recursion limit.
    """
    parts: list[str] = []
    for event, node in etree.iterwalk(root, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCK:
                parts.append("\n\n")
            elif tag in _LINE:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
        else:
            if tag in _BLOCK:
                parts.append("\n\n")
            if node.tail:
                parts.append(node.tail)
    return parts


TITLE_SEPARATOR = "\n\n"


def title_and_text(article: dict) -> str:
    """What language detection, NER and sentiment read: the title, a paragraph break, then the text."""
    title = article.get("title") or ""
    return f"{title}{TITLE_SEPARATOR}{article['text']}" if title else article["text"]


def clean_text(value: str | None) -> str:
    """NFC-normalise, drop control characters, fold runs of spaces, keep paragraphs as one blank line."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " "))
    value = _CONTROL.sub("", value)
    value = _SPACES.sub(" ", value)
    value = _PARA_BREAK.sub("\n\n", value)
    value = _LINE_BREAK.sub("\n", value)
    return value.strip()


def to_plain_text(value: str | None) -> str:
    """Plain text from a value that may or may not carry HTML (feed summaries, titles)."""
    if not value:
        return ""
    return html_to_text(value) if looks_like_html(value) else clean_text(value)


def single_line(value: str | None) -> str | None:
    """A title-like value as one line of plain text, or None when empty."""
    text = to_plain_text(value)
    text = " ".join(text.split())
    return text or None
