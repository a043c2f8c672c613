"""Published dates: feed and article date strings to a UTC instant plus the precision the source actually gave.

Parsing order, cheapest first:

1. ISO 8601 / W3C-DTF (`2022-09`, `2022-09-11T14:05:33.123+02:00`, `20220911T140533Z`) by regex.
2. RFC 822 / 2822 and its feed-world variants (`Tue, 10 Jun 2003 09:41:01 GMT`, `03 Apr 02 1500 GMT`,
   `zo, 11 sep 2022 14:05:00 +0200`, `01-Mar-08`, Reuters' `26-FEB-1987 15:01:01.79`) by regex, with
   English, Dutch, French and German month and weekday names always recognised, whatever `languages` says.
3. Month and year (`september 2022`, `Sept. 2022`) by regex, same month names.
4. dateparser, for other dates written in prose (`September 11, 2022`, `le 3 octobre 2022 à 08h00`), restricted
   to `languages` (default nl, en, fr, de), and only for short strings with a four-digit year and a month.

Policies (the `articles/` columns `published_at`, `published_precision`, `published_raw` rely on them):

- Missing parts never come from "now": `2022-09` is 2022-09-01T00:00Z with precision `month`, `2022` is
  2022-01-01T00:00Z with precision `year`; a text date without a year (`11 september`) is not parsed.
- Relative dates (`yesterday`, `2 hours ago`, `gisteren`) are not parsed: they are relative to a fetch time this
  function does not know, so they are left for the caller's ingestion-day fallback (`partition_day`).
- A timestamp without a zone is taken as UTC. Output is always UTC; date-only values are midnight UTC.
- A date more than `FUTURE_TOLERANCE` after `now`, or before `MIN_YEAR`, is not trusted: `at` is None.
- Unparseable input (garbage, markup, empty) never raises; it returns `at=None` and keeps the stripped `raw`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

# The values of `PublishedDate.precision` (the `published_precision` column), coarsest first.
PRECISIONS = ("year", "month", "day", "minute", "second")
DEFAULT_LANGUAGES = ("nl", "en", "fr", "de")
# Dates this far past `now` are clock or zone errors, not news; one day absorbs zone and clock skew.
FUTURE_TOLERANCE = timedelta(days=1)
MIN_YEAR = 1900
# Longer strings are prose or markup rather than a date; dateparser is not tried on them (it is slow on long input).
MAX_TEXT_LENGTH = 100


@dataclass(frozen=True)
class PublishedDate:
    """A parsed publication date: `at` (aware, UTC) and `precision` are None when `raw` could not be trusted."""

    at: datetime | None
    precision: str | None
    raw: str | None


def parse_published(
    raw: str | None, *, languages: Sequence[str] | None = None, now: datetime | None = None
) -> PublishedDate:
    """Parse one date string; `languages` restricts the prose fallback, `now` (default: the clock) bounds the future."""
    text = raw.strip() if raw else ""
    if not text:
        return PublishedDate(None, None, None)
    try:
        parsed = _parse_iso(text) or _parse_rfc822(text) or _parse_month_year(text)
    except (ValueError, OverflowError):  # the shape matched but a field is out of range: a bad date, not prose
        return PublishedDate(None, None, text)
    if parsed is None:
        parsed = _parse_text(text, tuple(languages) if languages else DEFAULT_LANGUAGES)
    if parsed is None or not _trusted(parsed[0], now):
        return PublishedDate(None, None, text)
    return PublishedDate(parsed[0], parsed[1], text)


def first_date(
    *raws: str | None, languages: Sequence[str] | None = None, now: datetime | None = None
) -> PublishedDate:
    """The first candidate that parses (pass published, updated, dc:date in that order); else the first non-empty raw.

    A feed entry's `published` may be garbage while `updated` is fine, so candidates are tried in turn.
    """
    fallback = PublishedDate(None, None, None)
    for raw in raws:
        result = parse_published(raw, languages=languages, now=now)
        if result.at is not None:
            return result
        if fallback.raw is None:
            fallback = result
    return fallback


def partition_day(published: PublishedDate, ingested_at: datetime) -> date:
    """The `date` partition: the published day (1st of month / Jan 1 for coarser precision), else the ingestion day."""
    if published.at is None:
        return _as_utc(ingested_at).date()
    day = _as_utc(published.at).date()
    if published.precision == "year":
        return day.replace(month=1, day=1)
    if published.precision == "month":
        return day.replace(day=1)
    return day


# --- fast path 1: ISO 8601 / W3C-DTF -------------------------------------------------------------------------

_ISO_ZONE = r"(?P<zone>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)"
_ISO_EXTENDED = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?\s*" + _ISO_ZONE + r"?)?)?)?",
    re.IGNORECASE,
)
_ISO_BASIC = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?P<mi>\d{2})(?:(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?\s*" + _ISO_ZONE + r"?)?",
    re.IGNORECASE,
)


def _parse_iso(text: str) -> tuple[datetime, str] | None:
    """ISO 8601 calendar dates, extended or basic, truncated to what is present; None if the shape differs."""
    m = _ISO_EXTENDED.fullmatch(text) or _ISO_BASIC.fullmatch(text)
    if m is None:
        return None
    if m["mo"] is None:
        return datetime(int(m["y"]), 1, 1, tzinfo=timezone.utc), "year"
    if m["d"] is None:
        return datetime(int(m["y"]), int(m["mo"]), 1, tzinfo=timezone.utc), "month"
    return _build(m, int(m["y"]), int(m["mo"]), _offset(m["zone"]))


# --- fast path 2: RFC 822 / 2822 and feed variants, in en / nl / fr / de ---------------------------------------

_RFC822 = re.compile(
    r"(?:(?P<wd>[^\W\d_]+)(?:\.?,\s*|\.?\s+))?"  # weekday, any of the four languages, ignored
    r"(?P<d>\d{1,2})\.?[\s/-]*(?P<mon>[^\W\d_]+)\.?[\s/,-]*(?P<y>\d{4}|\d{2})"
    # time: 14:05, 14:05:00, 14.05, 08h00, 1500 (feedparser), 15:01:01.79 (Reuters)
    r"(?:(?:\s*,\s*|\s+)(?P<h>\d{2}(?=\d{2})|\d{1,2}(?=[:.hH]))[:.hH]?(?P<mi>\d{2})"
    r"(?:[:.](?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"(?:\s*(?P<zname>[A-Za-z]{1,5})?\s*(?P<zone>[+-]\d{1,2}(?::?\d{2})?)?)?"
    r"(?:\s*\([^()]*\))?"  # RFC 2822 comment, e.g. "+0200 (CEST)"
)

_MONTH_NAMES = (
    "january february march april may june july august september october november december",  # en
    "januari februari maart april mei juni juli augustus september oktober november december",  # nl
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",  # fr
    "januar februar märz april mai juni juli august september oktober november dezember",  # de
    # Feeds in other languages often carry RFC 822 dates with local names (e.g. `Seg, 24 Set 2018`).
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",  # pt
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",  # es
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",  # it
)
_WEEKDAY_NAMES = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag",
    "segunda terça quarta quinta sexta sábado domingo",
    "lunes martes miércoles jueves viernes sábado domingo",
    "lunedì martedì mercoledì giovedì venerdì sabato domenica",
)
# Hours east of UTC for the zone names seen in feeds: RFC 822's own plus the European ones.
_ZONES = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "BST": 1, "WEST": 1, "CET": 1, "MET": 1, "MEZ": 1,
    "CEST": 2, "MEST": 2, "MESZ": 2, "EET": 2, "EEST": 3,
}  # fmt: skip


def _fold(word: str) -> str:
    """Lower-case without accents, so `Févr`, `févr` and `fevr` compare equal."""
    word = word.lower()
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _month_table() -> dict[str, int]:
    """Every unambiguous prefix of three or more letters of a month name (`sep`, `sept`, `okt`, `févr`, ...)."""
    table: dict[str, int] = {"mrt": 3, "mrz": 3, "janner": 1}  # nl, de, de-AT forms that are not prefixes
    ambiguous: set[str] = set()
    for names in _MONTH_NAMES:
        for number, name in enumerate(names.split(), start=1):
            name = _fold(name)
            for end in range(3, len(name) + 1):
                if table.setdefault(name[:end], number) != number:
                    ambiguous.add(name[:end])  # `jui`: juin or juillet
    return {prefix: number for prefix, number in table.items() if prefix not in ambiguous}


_MONTHS = _month_table()
_WEEKDAYS = frozenset(
    _fold(name)[:end] for names in _WEEKDAY_NAMES for name in names.split() for end in range(2, len(name) + 1)
)


def _parse_rfc822(text: str) -> tuple[datetime, str] | None:
    """Day-month-year with month names and an optional time and zone; None if the shape or a name is unknown."""
    m = _RFC822.fullmatch(text)
    if m is None:
        return None
    month = _MONTHS.get(_fold(m["mon"]))
    if month is None or (m["wd"] is not None and _fold(m["wd"]) not in _WEEKDAYS):
        return None
    zone = _rfc822_zone(m["zname"], m["zone"])
    if zone is None:  # an unknown zone name (or `PM`): leave it to dateparser
        return None
    year = int(m["y"])
    if len(m["y"]) == 2:  # RFC 2822 section 4.3
        year += 2000 if year < 50 else 1900
    return _build(m, year, month, zone)


_MONTH_YEAR = re.compile(r"(?P<mon>[^\W\d_]+)\.?,?\s*(?P<y>\d{4})")


def _parse_month_year(text: str) -> tuple[datetime, str] | None:
    """`september 2022`, `Sept. 2022`, `März 2022`: month precision without a dateparser call."""
    m = _MONTH_YEAR.fullmatch(text)
    month = _MONTHS.get(_fold(m["mon"])) if m else None
    return None if month is None else (datetime(int(m["y"]), month, 1, tzinfo=timezone.utc), "month")


def _rfc822_zone(name: str | None, offset: str | None) -> timezone | None:
    """The zone of `GMT`, `+0200`, `GMT+2` or nothing (UTC); None for names this table does not know."""
    if name is None:
        return _offset(offset)
    name = name.upper()
    if name not in _ZONES or (offset is not None and name not in ("UT", "UTC", "GMT")):
        return None
    return _offset(offset) if offset is not None else timezone(timedelta(hours=_ZONES[name]))


# --- shared by the fast paths --------------------------------------------------------------------------------


def _offset(zone: str | None) -> timezone:
    """`Z`, `UTC`, `+02`, `+0200`, `-05:00` or None (taken as UTC) as a fixed offset; ValueError past 24 hours."""
    if zone is None or zone[0] not in "+-":
        return timezone.utc
    digits = zone[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if zone[0] == "-" else delta)


def _build(m: re.Match[str], year: int, month: int, zone: timezone) -> tuple[datetime, str]:
    """Day or time precision from a match with groups d, h, mi, s, f; raises ValueError for impossible dates."""
    day = int(m["d"])
    if m["h"] is None:
        return datetime(year, month, day, tzinfo=timezone.utc), "day"
    micros = int(m["f"][:6].ljust(6, "0")) if m["f"] else 0
    local = datetime(year, month, day, int(m["h"]), int(m["mi"]), int(m["s"] or 0), micros, tzinfo=zone)
    return local.astimezone(timezone.utc), "second" if m["s"] else "minute"


# --- slow path: prose dates via dateparser -------------------------------------------------------------------

_MARKUP = re.compile(r"<\s*[A-Za-z/!?]")
# The year must be written out: dateparser reads `11 sep` as September 2011 and `11 september` as this year.
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
# A month name (three letters or more) or a numeric day-month-year: without either, `5 2022` or `Vol. 3 2022`
# would be read as a month.
_DATE_LIKE = re.compile(r"[^\W\d_]{3}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_HAS_SECONDS = re.compile(r"(?<![\d.:])\d{1,2}[:.h]\d{2}[:.]\d{2}(?![\d])")
# Tried in order: a full date keeps dateparser's day/time period; a month-and-year one is truncated to the month.
_REQUIREMENTS = ((("day", "month", "year"), None), (("month", "year"), "month"))


_DATEPARSER_SETTINGS = {
    "PARSERS": ["absolute-time"],  # no relative dates, no epoch timestamps
    "PREFER_DAY_OF_MONTH": "first",  # `im September 2022` is the 1st (month precision), not today's day
    "RETURN_TIME_AS_PERIOD": True,  # period `time` tells a timestamp from a bare date
    "TIMEZONE": "UTC",  # zone-less values are UTC, not the worker's local time
    "TO_TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
}


@lru_cache(maxsize=None)
def _date_parser(languages: tuple[str, ...], required: tuple[str, ...]) -> DateDataParser:
    """One dateparser per language list and required parts, built on first use (import and locales are slow)."""
    from dateparser.date import DateDataParser  # noqa: F811 - the real import, deferred

    # REQUIRE_PARTS: a year, month or day missing from the text is never filled in from today.
    settings = {**_DATEPARSER_SETTINGS, "REQUIRE_PARTS": list(required)}
    # Given order: the first language decides ambiguous numeric dates (11/09/2022 is 11 September for nl).
    return DateDataParser(languages=list(languages), settings=settings, use_given_order=True)


@lru_cache(maxsize=4096)  # dateparser costs milliseconds; prose dates repeat across the articles of a day
def _parse_text(text: str, languages: tuple[str, ...]) -> tuple[datetime, str] | None:
    """Dates in prose, in `languages`; only for short, markup-free strings with a four-digit year and a month."""
    if (
        len(text) > MAX_TEXT_LENGTH
        or _MARKUP.search(text)
        or not _FOUR_DIGITS.search(text)
        or not _DATE_LIKE.search(text)
    ):
        return None
    for required, cap in _REQUIREMENTS:
        try:
            data = _date_parser(languages, required).get_date_data(text)
            if data.date_obj is not None:
                return _from_dateparser(data.date_obj, data.period, text, cap)
        except OverflowError:  # zone conversion next to year 1 or 9999 (an unknown language stays a ValueError)
            return None
    return None


def _from_dateparser(found: datetime, period: str, text: str, cap: str | None) -> tuple[datetime, str]:
    """UTC instant and precision from dateparser's result; `cap` "month" truncates a month-and-year match."""
    at = found.astimezone(timezone.utc)
    if period != "time":
        # dateparser shifts a date's midnight by a written zone (`September 11, 2022 CEST` is 10 Sep 22:00Z):
        # the nearest midnight is the day as written.
        at = (at + timedelta(hours=12)).replace(hour=0, minute=0, second=0, microsecond=0)
    elif cap is None:
        return at, "second" if _HAS_SECONDS.search(text) else "minute"
    if cap == "month":
        return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0), "month"
    return at, "day"


def _trusted(at: datetime, now: datetime | None) -> bool:
    """Reject dates before MIN_YEAR or more than FUTURE_TOLERANCE after `now`."""
    limit = (datetime.now(timezone.utc) if now is None else _as_utc(now)) + FUTURE_TOLERANCE
    return at.year >= MIN_YEAR and at <= limit


def _as_utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones taken as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
