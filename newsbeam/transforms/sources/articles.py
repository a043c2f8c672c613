"""Readers for article files: plain text (inline or header metadata), JSON Lines, and HTML pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.utils import decode_file, repair_faulty_html

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.normalise.text import exceeded_parser_limit
from newsbeam.transforms.sources.records import raw_record

# The reference sample's inline prefix: " date 2022-09 " then the body on the same line.
_INLINE_DATE = re.compile(r"^\s*date\s+(\d{4}(?:-\d{1,2}(?:-\d{1,2})?)?)(?:\s+|$)", re.IGNORECASE)
_HEADER_KEYS = ("title", "url", "date", "published", "language", "lang", "author", "authors", "id")
# Keep the time and zone of the page's publication date, and prefer the original date over "updated".
_HTML_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True, "extensive_search": False}
# htmldate renders a page's date-only value as midnight without an offset (a time it found keeps its offset).
_DATE_ONLY_RENDERING = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00:00$")
_HEADER_LINE = re.compile(r"^(" + "|".join(_HEADER_KEYS) + r")\s*:\s?(.*)$", re.IGNORECASE)
# What a JSON value that is not a string is, in JSON's terms.
_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", list: "an array", dict: "an object"}


def decode_text(data: bytes, location: str) -> str:
    """Article files are UTF-8 (a BOM is allowed); anything else is a dead letter rather than mojibake."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NewsbeamError("parse", "bad_encoding", f"{location}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _split_header(content: str) -> tuple[dict[str, str], str]:
    """`key: value` lines (title, url, date, language, author, id) before a blank line, and the body after it."""
    lines = content.split("\n")
    header: dict[str, str] = {}
    for index, line in enumerate(lines):
        if not line.strip():
            return (header, "\n".join(lines[index + 1 :])) if header else ({}, content)
        match = _HEADER_LINE.match(line.strip())
        if not match:
            return {}, content
        header[match.group(1).lower()] = match.group(2).strip()
    return {}, content


def read_text_article(content: str, *, source: str, source_name=None, language_hint=None) -> dict:
    """One article from a plain-text file, with metadata from an inline ` date YYYY-MM ` prefix or header lines."""
    header, body = _split_header(content.replace("\r\n", "\n"))
    date_raws = [header.get("date") or header.get("published") or ""]
    inline = _INLINE_DATE.match(body)
    if inline:
        date_raws = [inline.group(1)]
        body = body[inline.end() :]
    authors = header.get("authors") or header.get("author") or ""
    if not body.strip():
        raise NewsbeamError("parse", "empty_text", f"{source}: no article text", header.get("id") or None)
    return raw_record(
        source=source,
        source_type="text",
        source_name=source_name,
        text=body,
        title=header.get("title") or None,
        url=header.get("url") or None,
        explicit_id=header.get("id") or None,
        authors=[a.strip() for a in re.split(r"[;,]", authors) if a.strip()],
        date_raws=date_raws,
        language_hint=header.get("language") or header.get("lang") or language_hint,
    )


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v.get("name", "")) if isinstance(v, dict) else str(v) for v in value]
    return [str(value)]


def read_jsonl_articles(lines, *, source: str, source_name=None, language_hint=None) -> Iterator[dict | NewsbeamError]:
    """Articles from JSON Lines: `text` required; `id`, `title`, `url`, `published`, `language`, `authors` optional.

    A bad line yields a NewsbeamError (naming the line, and the record's id when it has one) instead of a record,
    so the rest of the file still flows.
    """
    for number, line in enumerate(lines, 1):
        where = f"{source}:{number}"
        try:
            record = _jsonl_record(line, number, where, source=source, source_name=source_name, language_hint=language_hint)
        except NewsbeamError as error:
            yield error
        except RecursionError:  # from json.loads, or from turning a deeply nested value into a string
            yield NewsbeamError("parse", "too_deep", f"{where}: nested too deeply to read")
        else:
            if record is not None:
                yield record


def _jsonl_record(line: str | bytes, number: int, where: str, *, source: str, source_name, language_hint) -> dict | None:
    """The raw record of one JSON Lines line, None for a blank line; raises NewsbeamError for a bad one."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise NewsbeamError("parse", "bad_encoding", f"{where}: not UTF-8") from None
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise NewsbeamError("parse", "bad_json", f"{where}: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:  # valid JSON that Python refuses, such as an integer of more than 4300 digits
        raise NewsbeamError("parse", "bad_json", f"{where}: {exc}") from None
    if not isinstance(item, dict):
        raise NewsbeamError("parse", "bad_json", f"{where}: expected an object, got {type(item).__name__}")
    explicit_id = str(item["id"]) if item.get("id") not in (None, "") else None
    text = item.get("text")
    if text is not None and not isinstance(text, str):
        raise NewsbeamError("parse", "not_a_string", f"{where}: `text` is {_JSON_TYPES.get(type(text), 'a value')}, "
                            "not a string", explicit_id)
    if not text or not text.strip():
        raise NewsbeamError("parse", "empty_text", f"{where}: `text` is missing or empty", explicit_id)
    return raw_record(
        source=source,
        source_type="jsonl",
        source_name=source_name,
        text=text,
        title=item.get("title") if isinstance(item.get("title"), str) else None,
        url=item.get("url") if isinstance(item.get("url"), str) else None,
        explicit_id=explicit_id,
        authors=_as_list(item.get("authors", item.get("author"))),
        date_raws=[str(item[k]) for k in ("published", "updated", "date") if item.get(k)],
        language_hint=item.get("language") if isinstance(item.get("language"), str) else language_hint,
        where=where,
    )


def _check_parser_limits(page: str, source: str) -> None:
    """Parse the page as trafilatura does (which does not report libxml2's resource limits), raising if one was hit."""
    parser = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                                  remove_pis=True)  # trafilatura's parser options
    repaired = repair_faulty_html(page, page[:50].lower())
    try:
        try:
            lxml.html.fromstring(repaired, parser=parser)
        except ValueError:  # a string with an encoding declaration: trafilatura then parses its UTF-8 bytes
            lxml.html.fromstring(repaired.encode("utf-8", "surrogatepass"), parser=parser)
    except etree.ParserError:
        return  # nothing to parse: trafilatura finds no text, which is its own dead letter
    exceeded = exceeded_parser_limit(parser)
    if exceeded:
        raise NewsbeamError("parse", exceeded[0], f"{source}: HTML beyond the parser's limits ({exceeded[1]})")


def _page_date(rendered: str) -> str:
    """The page's date as the page gave it: a date-only value back to `YYYY-MM-DD`, so its precision stays `day`."""
    date_only = _DATE_ONLY_RENDERING.match(rendered)
    return date_only.group(1) if date_only else rendered


def read_html_article(markup: bytes, *, source: str, source_name=None, language_hint=None) -> dict:
    """Main text and metadata of an HTML article page, extracted with trafilatura.

    A page beyond libxml2's limits (a text node over 10,000,000 bytes, nesting over 256) is a NewsbeamError
    ('parse', 'too_large' or 'too_deep'): trafilatura would extract from what survived and shorten the article.
    """
    page = decode_file(markup)  # as trafilatura decodes it: charset, compression
    _check_parser_limits(page, source)
    document = trafilatura.bare_extraction(
        page,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        date_extraction_params=_HTML_DATE_PARAMS,
    )
    if document is None or not (document.text or "").strip():
        raise NewsbeamError("parse", "no_article_text", f"{source}: no main text found in the HTML page")
    return raw_record(
        source=source,
        source_type="html",
        source_name=source_name,
        text=document.text.replace("\n", "\n\n"),  # trafilatura puts one block per line
        title=document.title,
        url=document.url,
        authors=[a.strip() for a in re.split(r"[;]", document.author or "") if a.strip()],
        date_raws=[_page_date(document.date)] if document.date else [],
        language_hint=document.language or language_hint,
    )
