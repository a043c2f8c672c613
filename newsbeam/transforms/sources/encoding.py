"""Make fetched feed bytes safe and correctly decoded for feedparser.

`prepare_feed(body, headers)` picks the real character encoding (BOM, HTTP charset, XML declaration,
checked against the bytes so a wrong or missing declaration does not produce mojibake), re-encodes
the document as UTF-8 with a matching XML declaration, and removes any DOCTYPE internal subset so
entity declarations (billion laughs, external SYSTEM/PUBLIC entities) are never expanded or fetched.
Simple literal entities (`<!ENTITY id "text">`, as some legitimate feeds use) are substituted first.
Character references XML forbids (UTF-16 surrogates, code points beyond Unicode) are repaired, since
feedparser's fallback parser crashes on them and so would lose every item of the feed.
Hand the result to feedparser with `feedparser_headers(...)` (or use `safe_parse`), never the original
Content-Type. `looks_like_html_not_feed` tells an HTML page from other documents that are not feeds.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Mapping

import feedparser
from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from newsbeam.errors import NewsbeamError

# Decoded text scoring above this "mess" (charset-normalizer's mojibake measure) is treated as wrongly decoded.
_MAX_MESS = 0.2
# windows-1252 is kept unless another guess is less messy by more than this: such small differences are a few
# odd characters, and lookalike code pages (cp1250, cp1257, even Shift-JIS for Latin-1 text) often score a hair lower.
_CP1252_MARGIN = 0.05
# If even the best candidate is this messy, the bytes are not text in any encoding we know.
_UNREADABLE_MESS = 0.5
# Characters of decoded text used for scoring; enough to judge, cheap on multi-MB feeds.
_SAMPLE_CHARS = 200_000
# Expanding simple entities may grow the document at most this much (guards a quadratic blow-up).
_MAX_ENTITY_GROWTH = 1_000_000
_MAX_ENTITY_VALUE = 1_000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 appendix F: "<?" without a BOM in the wide encodings.
_WIDE_SNIFF = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
# Legacy guesses tried when nothing declared fits, in order of preference on a tie: windows-1252 first,
# then what charset-normalizer detects, then windows-1251. The detector goes before cp1251 because other
# single-byte scripts (windows-1255 Hebrew, ...) decode just as cleanly as Cyrillic under cp1251.
_FALLBACKS_BEFORE_DETECTED = ("cp1252",)
_FALLBACKS_AFTER_DETECTED = ("cp1251", "latin_1")  # Latin-1 always decodes
# Declared names that in practice mean windows-1252 (as browsers treat them, per the WHATWG Encoding standard).
_AS_CP1252 = {"latin_1", "ascii", "iso8859_1"}

_XML_DECL = re.compile(r"^\s*<\?xml\s([^>]*?)\?>", re.IGNORECASE)
_XML_DECL_BYTES = re.compile(rb"^\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.IGNORECASE)
_ENCODING_ATTR = re.compile(r"""\s+encoding\s*=\s*(["'])[^"']*\1""", re.IGNORECASE)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Numeric character references of four hex or five decimal digits and more: those that may name a UTF-16
# surrogate or a code point beyond Unicode. Surrogates are rewritten to the canonical form the next two match.
_LONG_NUMERIC_REF = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]{4,})|0*([0-9]{5,}));")
_SURROGATE_REF = re.compile(r"&#xD[89A-F][0-9A-F]{2};")
_SURROGATE_PAIR_REF = re.compile(r"&#x(D[89AB][0-9A-F]{2});&#x(D[C-F][0-9A-F]{2});")
_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.IGNORECASE)
_SAFE_ENTITY = re.compile(r"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(["'])([^&<%"']*|&#x?[0-9A-Fa-f]+;)\2\s*>""")
_ENTITY_REF_OR_LITERAL = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|&([A-Za-z_][\w.-]*);", re.DOTALL)
_FEED_CONTENT_TYPE = "application/xml; charset=utf-8"
# HTML-versus-feed sniffing on the start of the document.
_SNIFF_BYTES = 4096
_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_FIRST_ELEMENT = re.compile(r"<([A-Za-z][\w:.-]*)")
_HTML_DOCTYPE = re.compile(r"<!DOCTYPE\s+html", re.IGNORECASE)
_FEED_ROOTS = {"rss", "feed", "rdf", "channel"}
_HTML_ELEMENTS = {"html", "head", "body", "title", "meta", "link", "script", "style", "div", "p", "center",
                  "table", "form", "iframe", "a", "br", "h1", "h2", "pre", "noscript"}


@dataclasses.dataclass(frozen=True)
class PreparedFeed:
    """UTF-8 feed bytes ready for feedparser, the encoding they were decoded from, and headers to parse them with."""

    data: bytes
    source_encoding: str
    response_headers: dict[str, str]


def prepare_feed(body: bytes, headers: Mapping[str, str] | None = None) -> PreparedFeed:
    """Decode `body` with the right encoding, neutralise DOCTYPE entities, repair forbidden character references,
    and re-encode as UTF-8.

    Raises NewsbeamError('parse', 'bad_encoding') when the bytes are not text in any plausible encoding,
    and NewsbeamError('parse', 'xml_entities_forbidden') when a DOCTYPE cannot be removed safely.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    text, encoding = decode_feed(body, headers.get("content-type", ""))
    text = _INVALID_XML_CHARS.sub("", text)
    text = repair_character_references(strip_doctype_subset(text))
    text = _with_utf8_declaration(text)
    return PreparedFeed(text.encode("utf-8"), encoding, feedparser_headers(headers))


def prepare_feed_bytes(body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """Just the UTF-8 bytes of `prepare_feed`; they carry their own XML declaration."""
    return prepare_feed(body, headers).data


def feedparser_headers(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """Response headers to hand feedparser together with prepared bytes.

    The original Content-Type must not go along: feedparser lets its charset override the UTF-8
    declaration, which turns prepared text back into mojibake (e.g. `charset=windows-1251`).
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    kept = {k: headers[k] for k in ("content-location", "content-language") if k in headers}
    return {**kept, "content-type": _FEED_CONTENT_TYPE}


def safe_parse(body: bytes, headers: Mapping[str, str] | None = None, url: str | None = None) -> feedparser.FeedParserDict:
    """Prepare `body` and parse it with feedparser (bytes in, so feedparser touches neither network nor disk)."""
    prepared = prepare_feed(body, headers)
    response_headers = dict(prepared.response_headers)
    if url:
        response_headers.setdefault("content-location", url)  # base for relative links
    return feedparser.parse(prepared.data, response_headers=response_headers)


def looks_like_html_not_feed(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a document is an HTML page rather than a feed, judged by its first element.

    An `rss`/`feed`/`RDF`/`channel` root is a feed whatever the Content-Type says (feeds are often
    served as text/html); an HTML root (`html`, `head`, `body`, ...) is a page whatever it claims.
    Only when the root is neither, or there is none, do `<!DOCTYPE html>` and a text/html or
    XHTML Content-Type decide. Meant for documents feedparser did not recognise (no `version`,
    no entries), to tell an HTML page from other junk.
    """
    head = _COMMENT.sub("", body[:_SNIFF_BYTES].replace(b"\x00", b"").decode("latin-1"))
    root = _FIRST_ELEMENT.search(head)
    name = root.group(1).lower().rsplit(":", 1)[-1] if root else ""
    if name in _FEED_ROOTS:
        return False
    if name in _HTML_ELEMENTS or _HTML_DOCTYPE.search(head):
        return True
    content_type = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type", "").lower()
    return "html" in content_type


def decode_feed(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Return (text, encoding name) for feed bytes; see the module docstring for the order of evidence."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom):].decode(encoding), encoding
            except UnicodeDecodeError:
                break  # a lying BOM: fall through to the other evidence
    for prefix, encoding in _WIDE_SNIFF:
        if body.startswith(prefix):
            try:
                return body.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    try:
        return body.decode("utf-8"), "utf-8"  # valid UTF-8 wins: legacy text almost never decodes as UTF-8 by chance
    except UnicodeDecodeError:
        pass
    declared = [_codec(name) for name in (_http_charset(content_type), _xml_charset(body))]
    declared = [name for name in declared if name and not name.startswith(("utf_8", "utf_16", "utf_32"))]
    for name, text in _decodings(body, declared):  # a declared encoding that yields clean text is trusted
        if _mess(text) < _MAX_MESS:
            return text, name
    candidates = _decodings(body, [*declared, *_FALLBACKS_BEFORE_DETECTED, _detected(body), *_FALLBACKS_AFTER_DETECTED])
    scores = {name: _mess(text) for name, text in candidates}
    name, text = min(candidates, key=lambda c: scores[c[0]])  # stable: on a tie the earlier candidate wins
    if "cp1252" in scores and scores["cp1252"] <= scores[name] + _CP1252_MARGIN:
        name, text = next(candidate for candidate in candidates if candidate[0] == "cp1252")
    if scores[name] >= _UNREADABLE_MESS:
        raise NewsbeamError("parse", "bad_encoding", f"bytes do not decode as text in {', '.join(scores)}")
    return text, name


def strip_doctype_subset(text: str) -> str:
    """Remove the DOCTYPE internal subset (keeping name and external id), substituting simple literal entities.

    Only declarations of the form `<!ENTITY name "plain text">` are honoured, by text substitution;
    parameter, external and nested entities are dropped, so their references stay unexpanded and no
    parser ever sees a declaration. A DOCTYPE whose end cannot be found is rejected.
    """
    start = _prolog_doctype(text)
    if start < 0:
        return text
    end, subset = _doctype_end(text, start)
    if end < 0:
        raise NewsbeamError("parse", "xml_entities_forbidden", "unterminated DOCTYPE declaration")
    if subset is None:
        return text
    head = text[start:subset[0]].rstrip().rstrip("[").rstrip()
    entities = {m.group(1): m.group(3) for m in _SAFE_ENTITY.finditer(text, subset[0], subset[1])
                if len(m.group(3)) <= _MAX_ENTITY_VALUE}
    rest = _expand_entities(text[end:], entities)
    return text[:start] + head + ">" + rest


def repair_character_references(text: str) -> str:
    """Rewrite the numeric character references XML forbids and feedparser's fallback parser crashes on: a
    UTF-16 surrogate pair of references becomes the one character it encodes, a lone surrogate or a code
    point beyond Unicode becomes U+FFFD (as HTML reads them)."""
    text = _LONG_NUMERIC_REF.sub(_canonical_reference, text)
    text = _SURROGATE_PAIR_REF.sub(_combined_surrogate_pair, text)
    return _SURROGATE_REF.sub("&#xFFFD;", text)


def _canonical_reference(match: re.Match) -> str:
    """A surrogate reference as `&#xD800;`, one beyond Unicode as U+FFFD, any other unchanged."""
    hex_digits, decimal = match.groups()
    digits = hex_digits or decimal
    code = int(digits, 16 if hex_digits else 10) if len(digits) <= 8 else 0x110000  # int() refuses 4300+ digits
    if code > 0x10FFFF:
        return "&#xFFFD;"
    return f"&#x{code:X};" if 0xD800 <= code <= 0xDFFF else match.group(0)


def _combined_surrogate_pair(match: re.Match) -> str:
    """The reference to the character a high-low surrogate pair encodes in UTF-16."""
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"&#x{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):X};"


def _prolog_doctype(text: str) -> int:
    """Index of the DOCTYPE in the prolog (before the first element, past comments and PIs), or -1."""
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if text.startswith("<?", i):
            closer = "?>"
        elif text.startswith("<!--", i):
            closer = "-->"
        else:
            return i if _DOCTYPE.match(text, i) else -1
        end = text.find(closer, i)
        if end < 0:
            return -1
        i = end + len(closer)


def _doctype_end(text: str, start: int) -> tuple[int, tuple[int, int] | None]:
    """Index just past the DOCTYPE's closing `>` (or -1) and the span of its internal subset, if any.

    Quoted literals and comments are skipped, so a `]` or `>` inside an entity value does not end it.
    """
    i, n, subset_start = start + len("<!DOCTYPE"), len(text), None
    while i < n:
        char = text[i]
        if char in "\"'":
            close = text.find(char, i + 1)
            if close < 0:
                return -1, None
            i = close + 1
        elif text.startswith("<!--", i):
            close = text.find("-->", i + 4)
            if close < 0:
                return -1, None
            i = close + 3
        elif char == "[" and subset_start is None:
            subset_start, i = i + 1, i + 1
        elif char == "]" and subset_start is not None:
            close = text.find(">", i)
            if close < 0:
                return -1, None
            return close + 1, (subset_start, i)
        elif char == ">" and subset_start is None:
            return i + 1, None
        else:
            i += 1
    return -1, None


def _expand_entities(text: str, entities: dict[str, str]) -> str:
    """Replace references to the given literal entities outside CDATA sections and comments."""
    if not entities:
        return text
    escaped = {name: value if value.startswith("&#") else value.replace(">", "&gt;").replace('"', "&quot;")
               for name, value in entities.items()}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        return escaped[name] if name in escaped else match.group(0)

    expanded = _ENTITY_REF_OR_LITERAL.sub(substitute, text)
    if len(expanded) - len(text) > _MAX_ENTITY_GROWTH:
        raise NewsbeamError("parse", "xml_entities_forbidden", f"entity expansion grows the document by {len(expanded) - len(text)} characters")
    return expanded


def _with_utf8_declaration(text: str) -> str:
    """Put a UTF-8 XML declaration first: rewrite the existing one's encoding, or add one."""
    match = _XML_DECL.match(text)
    if not match:
        return '<?xml version="1.0" encoding="utf-8"?>\n' + text.lstrip()
    attributes = _ENCODING_ATTR.sub("", match.group(1)).strip()
    if "version" not in attributes:
        attributes = 'version="1.0" ' + attributes
    attributes = re.sub(r"""(version\s*=\s*(["'])[^"']*\2)""", r'\1 encoding="utf-8"', attributes, count=1)
    return f"<?xml {attributes.strip()}?>" + text[match.end():]


def _http_charset(content_type: str) -> str | None:
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None


def _xml_charset(body: bytes) -> str | None:
    match = _XML_DECL_BYTES.match(body[:1024])
    return match.group(1).decode("ascii") if match else None


def _codec(name: str | None) -> str | None:
    """Python's canonical codec name for a declared charset, with Latin-1/ASCII read as windows-1252; None if unknown."""
    if not name:
        return None
    try:
        canonical = codecs.lookup(name).name.replace("-", "_")
    except LookupError:
        return None
    return "cp1252" if canonical in _AS_CP1252 else canonical


def _detected(body: bytes) -> str | None:
    best = from_bytes(body[:_SAMPLE_CHARS]).best()
    return _codec(best.encoding) if best else None


def _decodings(body: bytes, names: list[str | None]) -> list[tuple[str, str]]:
    """(name, text) for each distinct encoding in `names` that decodes `body` strictly."""
    results: list[tuple[str, str]] = []
    for name in dict.fromkeys(n for n in names if n):
        try:
            results.append((name, body.decode(name)))
        except (UnicodeDecodeError, LookupError):
            continue
    return results


def _mess(text: str) -> float:
    """charset-normalizer's mojibake score of a decoding (0 clean, 1 garbage)."""
    return mess_ratio(text[:_SAMPLE_CHARS], maximum_threshold=1.0)
