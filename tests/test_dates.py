"""Tests for published-date normalisation: every accepted form, precision, UTC, rejection rules and partitioning."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from newsbeam.transforms.normalise import dates
from newsbeam.transforms.normalise.dates import (
    FUTURE_TOLERANCE,
    PRECISIONS,
    PublishedDate,
    first_date,
    parse_published,
    partition_day,
)

UTC = timezone.utc
# A fixed "now" keeps the future check deterministic; all sample dates lie well before it.
NOW = datetime(2023, 6, 15, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    """An ISO string as an aware UTC datetime, for compact expectations."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check(raw: str, expected: str, precision: str, **kwargs) -> None:
    """Assert that `raw` parses to the UTC instant `expected` with `precision`, keeping the stripped raw."""
    result = parse_published(raw, now=NOW, **kwargs)
    assert result == PublishedDate(utc(expected), precision, raw.strip())
    assert result.at.tzinfo is UTC and result.precision in PRECISIONS


@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("2022", "2022-01-01T00:00", "year"),
        ("2022-09", "2022-09-01T00:00", "month"),
        ("2022-09-11", "2022-09-11T00:00", "day"),
        ("20220911", "2022-09-11T00:00", "day"),
        ("2022-09-11T14:05", "2022-09-11T14:05", "minute"),
        ("2022-09-11T14:05Z", "2022-09-11T14:05", "minute"),
        ("2022-09-11T14:05:33", "2022-09-11T14:05:33", "second"),
        ("2022-09-11T14:05:33Z", "2022-09-11T14:05:33", "second"),
        ("2022-09-11t14:05:33z", "2022-09-11T14:05:33", "second"),
        ("2022-09-11T14:05:33+02:00", "2022-09-11T12:05:33", "second"),
        ("2022-09-11T14:05:33+0200", "2022-09-11T12:05:33", "second"),
        ("2022-09-11T14:05:33+02", "2022-09-11T12:05:33", "second"),
        ("2022-09-11T14:05:33-05:30", "2022-09-11T19:35:33", "second"),
        ("2022-09-11T14:05:33.123+02:00", "2022-09-11T12:05:33.123", "second"),
        ("2022-09-11T14:05:33,5Z", "2022-09-11T14:05:33.5", "second"),
        ("2022-09-11T14:05:33.123456789Z", "2022-09-11T14:05:33.123456", "second"),
        ("2022-09-11 14:05:33", "2022-09-11T14:05:33", "second"),
        ("2022-09-11 14:05:33 UTC", "2022-09-11T14:05:33", "second"),
        ("2022-09-11T00:30:00+02:00", "2022-09-10T22:30", "second"),
        ("20220911T140533Z", "2022-09-11T14:05:33", "second"),
        ("20220911T1405Z", "2022-09-11T14:05", "minute"),
        ("20220911T140533+0200", "2022-09-11T12:05:33", "second"),
        ("  2022-09-11T14:05:33Z\n", "2022-09-11T14:05:33", "second"),
    ],
)
def test_iso_8601_and_w3c_dtf(raw: str, expected: str, precision: str) -> None:
    check(raw, expected, precision)


@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("Tue, 10 Jun 2003 09:41:01 GMT", "2003-06-10T09:41:01", "second"),
        ("Tue, 10 Jun 2003 09:41:01 +0000", "2003-06-10T09:41:01", "second"),
        ("Tue, 10 Jun 2003 09:41:01 -0000", "2003-06-10T09:41:01", "second"),
        ("Tue, 10 Jun 2003 09:41 GMT", "2003-06-10T09:41", "minute"),
        ("Tue, 10 Jun 2003 09:41:01", "2003-06-10T09:41:01", "second"),
        ("10 Jun 2003 09:41:01 GMT", "2003-06-10T09:41:01", "second"),
        ("Tue,10 Jun 2003 09:41:01 GMT", "2003-06-10T09:41:01", "second"),
        ("Tuesday, 10 June 2003 09:41:01 GMT", "2003-06-10T09:41:01", "second"),
        ("Sun, 11 Sep 2022 14:05:00 +0200", "2022-09-11T12:05", "second"),
        ("Sun, 11 Sept 2022 14:05:00 +0200", "2022-09-11T12:05", "second"),
        ("Sun, 11 Sep 2022 14:05:00 +0200 (CEST)", "2022-09-11T12:05", "second"),
        ("Sun, 11 Sep 2022 14:05:00+0200", "2022-09-11T12:05", "second"),
        ("Sun, 11 Sep 2022 14:05:00 +02:00", "2022-09-11T12:05", "second"),
        ("Sun, 11 Sep 2022 14:05 GMT+2", "2022-09-11T12:05", "minute"),
        ("Sun, 11 Sep 2022 14:05 UTC-05:00", "2022-09-11T19:05", "minute"),
        ("Sun, 11 Sep 2022", "2022-09-11T00:00", "day"),
        ("SUN, 11 SEP 2022 14:05:00 GMT", "2022-09-11T14:05", "second"),
        ("Sun, 11 Sep 2022, 14:05", "2022-09-11T14:05", "minute"),
        ("Sun, 11 Sep 2022 23:30:00 -0500", "2022-09-12T04:30", "second"),
    ],
)
def test_rfc_822_english(raw: str, expected: str, precision: str) -> None:
    check(raw, expected, precision)


@pytest.mark.parametrize(
    "zone, offset_hours",
    [
        ("GMT", 0), ("UT", 0), ("UTC", 0), ("Z", 0),
        ("EST", -5), ("EDT", -4), ("CST", -6), ("CDT", -5), ("MST", -7), ("MDT", -6), ("PST", -8), ("PDT", -7),
        ("CET", 1), ("CEST", 2), ("MET", 1), ("MEST", 2), ("MEZ", 1), ("MESZ", 2),
        ("BST", 1), ("WET", 0), ("WEST", 1), ("EET", 2), ("EEST", 3),
        ("cet", 1), ("+0530", 5.5), ("-0330", -3.5), ("+01:00", 1),
    ],
)  # fmt: skip
def test_rfc_822_zones(zone: str, offset_hours: float) -> None:
    expected = datetime(2003, 6, 10, 9, 41, 1, tzinfo=UTC) - timedelta(hours=offset_hours)
    result = parse_published(f"Tue, 10 Jun 2003 09:41:01 {zone}", now=NOW)
    assert (result.at, result.precision) == (expected, "second")


@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        # Dutch
        ("zo, 11 sep 2022 14:05:00 +0200", "2022-09-11T12:05", "second"),
        ("ma, 3 okt 2022 10:00:00 +0200", "2022-10-03T08:00", "second"),
        ("ma, 3 okt 2022 10:00", "2022-10-03T10:00", "minute"),
        ("di, 1 mrt 2022 08:00:00 +0100", "2022-03-01T07:00", "second"),
        ("wo, 25 mei 2022 08:00:00 GMT", "2022-05-25T08:00", "second"),
        ("zondag 11 september 2022", "2022-09-11T00:00", "day"),
        # German
        ("Mo, 03 Okt 2022 08:00:00 +0200", "2022-10-03T06:00", "second"),
        ("Di, 01 Mär 2022 08:00:00 +0100", "2022-03-01T07:00", "second"),
        ("Di, 01 Mrz 2022 08:00:00 +0100", "2022-03-01T07:00", "second"),
        ("Mi, 14 Dez 2022 08:00:00 MEZ", "2022-12-14T07:00", "second"),
        ("So., 11. Sep. 2022 14:05:00 +0200", "2022-09-11T12:05", "second"),
        ("11. September 2022", "2022-09-11T00:00", "day"),
        ("3. Jänner 2022", "2022-01-03T00:00", "day"),
        # French
        ("mar., 13 sept. 2022 10:00:00 +0200", "2022-09-13T08:00", "second"),
        ("lun., 3 oct. 2022 08:00:00 +0200", "2022-10-03T06:00", "second"),
        ("jeu., 1 déc. 2022 08:00:00 +0100", "2022-12-01T07:00", "second"),
        ("ven., 4 févr. 2022 08:00:00 +0100", "2022-02-04T07:00", "second"),
        ("ven., 4 fevr. 2022 08:00:00 +0100", "2022-02-04T07:00", "second"),
        ("lun., 1 août 2022 08:00:00 +0200", "2022-08-01T06:00", "second"),
        ("11 septembre 2022", "2022-09-11T00:00", "day"),
        ("3 octobre 2022 08h00", "2022-10-03T08:00", "minute"),
        # English day-month-year prose takes the same path
        ("11 september 2022", "2022-09-11T00:00", "day"),
        ("11 September 2022 14.05", "2022-09-11T14:05", "minute"),
    ],
)
def test_rfc_822_dutch_german_french(raw: str, expected: str, precision: str) -> None:
    check(raw, expected, precision)


MONTHS = {
    "en": "January February March April May June July August September October November December",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "abbr-en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "abbr-nl": "jan feb mrt apr mei jun jul aug sep okt nov dec",
    "abbr-fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
    "abbr-de": "Jan. Feb. Mrz. Apr. Mai Jun. Jul. Aug. Sep. Okt. Nov. Dez.",
}


@pytest.mark.parametrize(
    "name, number", [(name, n) for names in MONTHS.values() for n, name in enumerate(names.split(), start=1)]
)
def test_every_month_name(name: str, number: int) -> None:
    check(f"2 {name} 2022", f"2022-{number:02d}-02T00:00", "day")
    check(f"{name} 2022", f"2022-{number:02d}-01T00:00", "month")


@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("03 Apr 02 1500 GMT", "2002-04-03T15:00", "minute"),  # feedparser's two-digit year, HHMM time
        ("Thu, 03 Apr 2002 1500 GMT", "2002-04-03T15:00", "minute"),
        ("Tue, 10 Jun 03 09:41:01 GMT", "2003-06-10T09:41:01", "second"),
        ("10 Jun 87 09:41:01 GMT", "1987-06-10T09:41:01", "second"),  # RFC 2822: 50-99 are 19xx
        ("10 Jun 49", "2049-06-10T00:00", None),  # 00-49 are 20xx, so this one is in the future
        ("01-Mar-08", "2008-03-01T00:00", "day"),
        ("01-MAR-2008", "2008-03-01T00:00", "day"),
        ("26-FEB-1987 15:01:01.79", "1987-02-26T15:01:01.79", "second"),  # Reuters-21578
        ("2-MAR-1987 04:52:19.42", "1987-03-02T04:52:19.42", "second"),
        ("11/Sep/2022 14:05:33 +0200", "2022-09-11T12:05:33", "second"),
    ],
)
def test_feed_and_corpus_variants(raw: str, expected: str, precision: str | None) -> None:
    if precision is None:
        assert parse_published(raw, now=NOW) == PublishedDate(None, None, raw)
    else:
        check(raw, expected, precision)


@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("September 11, 2022", "2022-09-11T00:00", "day"),
        ("Sep 11, 2022", "2022-09-11T00:00", "day"),
        ("Sunday, September 11, 2022 2:05 PM", "2022-09-11T14:05", "minute"),
        ("Sun Sep 11 14:05:33 2022", "2022-09-11T14:05:33", "second"),  # asctime
        ("Sun, 11 Sep 2022 2:05 PM", "2022-09-11T14:05", "minute"),
        ("zondag 11 september 2022 om 14.05 uur", "2022-09-11T14:05", "minute"),
        ("11 september 2022 om 14:05:33", "2022-09-11T14:05:33", "second"),
        ("le 3 octobre 2022 à 08h00", "2022-10-03T08:00", "minute"),
        ("mercredi 14 septembre 2022 à 10h15", "2022-09-14T10:15", "minute"),
        ("Mittwoch, 14. September 2022, 10:15 Uhr", "2022-09-14T10:15", "minute"),
        ("11 September 2022, 14:05 CEST", "2022-09-11T12:05", "minute"),
        ("September 11, 2022 CEST", "2022-09-11T00:00", "day"),  # a zone on a bare date does not move the day
        ("September 11, 2022 PDT", "2022-09-11T00:00", "day"),
        ("11.09.2022", "2022-09-11T00:00", "day"),  # numeric: day first, as in nl, fr, de
        ("11/09/2022", "2022-09-11T00:00", "day"),
        ("09/13/2022", "2022-09-13T00:00", "day"),  # only month-first fits
        ("im September 2022", "2022-09-01T00:00", "month"),
        ("september 2022 14:05", "2022-09-01T00:00", "month"),  # no day: the time is dropped, not today's day
    ],
)
def test_prose_via_dateparser(raw: str, expected: str, precision: str) -> None:
    check(raw, expected, precision)


def test_languages_restrict_the_prose_fallback() -> None:
    assert parse_published("le 3 octobre 2022 à 08h00", languages=["en"], now=NOW).at is None
    assert parse_published("11 de septiembre de 2022", now=NOW).at is None
    check("11 de septiembre de 2022", "2022-09-11T00:00", "day", languages=["es"])
    check("11/09/2022", "2022-11-09T00:00", "day", languages=["en"])  # the first language decides the order


@pytest.mark.parametrize("now", [NOW, datetime(2022, 9, 30, 23, 59, tzinfo=UTC), datetime(2031, 2, 28, tzinfo=UTC)])
@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("2022", "2022-01-01T00:00", "year"),
        ("2022-09", "2022-09-01T00:00", "month"),
        ("september 2022", "2022-09-01T00:00", "month"),
        ("im September 2022", "2022-09-01T00:00", "month"),
        ("september 2022 14:05", "2022-09-01T00:00", "month"),
        ("11 september 2022", "2022-09-11T00:00", "day"),
    ],
)
def test_missing_parts_never_come_from_now(raw: str, expected: str, precision: str, now: datetime) -> None:
    assert parse_published(raw, now=now) == PublishedDate(utc(expected), precision, raw)


@pytest.fixture
def dateparser_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[datetime], None]]:
    """Make dateparser believe today is the given datetime, the date it would fill missing parts from."""
    from dateparser.date import DateDataParser

    def use(today: datetime) -> None:
        def parser(languages: tuple[str, ...], required: tuple[str, ...]) -> DateDataParser:
            settings = {**dates._DATEPARSER_SETTINGS, "REQUIRE_PARTS": list(required), "RELATIVE_BASE": today}
            return DateDataParser(languages=list(languages), settings=settings, use_given_order=True)

        monkeypatch.setattr(dates, "_date_parser", parser)
        dates._parse_text.cache_clear()

    yield use
    dates._parse_text.cache_clear()


TODAYS = [datetime(2026, 1, 1, 0, 10), datetime(2026, 1, 31, 23, 50), datetime(2026, 2, 28, 12), datetime(2026, 10, 31)]


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(
    "raw, expected, precision",
    [
        ("im September 2022", "2022-09-01T00:00", "month"),
        ("september 2022 14:05", "2022-09-01T00:00", "month"),
        ("le 3 octobre 2022 à 08h00", "2022-10-03T08:00", "minute"),
        ("11 September 2022 om 23:30", "2022-09-11T23:30", "minute"),
        ("11 september", None, None),
        ("14:05", None, None),
    ],
)
def test_dateparser_never_fills_from_its_today(
    dateparser_today: Callable[[datetime], None], today: datetime, raw: str, expected: str | None, precision: str | None
) -> None:
    dateparser_today(today)
    assert parse_published(raw, now=NOW) == PublishedDate(expected and utc(expected), precision, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "11 september",  # no year: dateparser would take it from today (or read 11 as 2011)
        "September 11",
        "14:05",
        "2022 14:05",
        "today", "yesterday", "2 hours ago", "3 days ago", "1 week ago",  # relative: see the module docstring
        "vandaag", "gisteren", "2 uur geleden", "heute", "gestern", "aujourd'hui", "hier", "il y a 2 heures",
        "1662905100",  # epoch seconds are not taken as dates
    ],
)  # fmt: skip
def test_relative_and_incomplete_dates_are_not_parsed(raw: str) -> None:
    assert parse_published(raw, now=NOW) == PublishedDate(None, None, raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2022-09-11T14:05:33", "2022-09-11T14:05:33"),
        ("Sun, 11 Sep 2022 14:05:33", "2022-09-11T14:05:33"),
        ("Sunday, September 11, 2022 2:05 PM", "2022-09-11T14:05"),
    ],
)
def test_timestamps_without_zone_are_utc(raw: str, expected: str) -> None:
    assert parse_published(raw, now=NOW).at == utc(expected)


def test_output_is_utc_whatever_the_input_zone() -> None:
    for raw in ("2022-09-11T14:05:33+09:00", "Sun, 11 Sep 2022 14:05:33 PDT", "11 September 2022, 14:05 CEST"):
        at = parse_published(raw, now=NOW).at
        assert at.tzinfo is UTC and at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw, trusted",
    [
        ("2023-06-15T12:00:00Z", True),
        ("2023-06-16T12:00:00Z", True),  # exactly FUTURE_TOLERANCE ahead
        ("2023-06-16T12:00:01Z", False),
        ("2023-06-16T13:30:00+02:00", True),  # 11:30 UTC
        ("2023-06-16", True),
        ("2023-06-17", False),
        ("2023-06", True),
        ("2023-07", False),
        ("2023", True),
        ("2024", False),
        ("Sat, 17 Jun 2023 08:00:00 GMT", False),
        ("1 January 2099", False),
        ("1900-01-01T00:00:00Z", True),
        ("1900", True),
        ("1899-12-31T23:59:59Z", False),
        ("1899", False),
        ("Sun, 31 Dec 1899 23:00:00 GMT", False),
        ("Mon, 01 Jan 1900 00:30:00 +0100", False),  # 1899-12-31T23:30Z once converted
        ("26-FEB-1887 15:01:01.79", False),
        ("0001-01-01T00:00:00+01:00", False),  # would overflow on conversion
        ("9999-12-31T23:59:59-05:00", False),
    ],
)
def test_future_and_pre_1900_dates_are_not_trusted(raw: str, trusted: bool) -> None:
    result = parse_published(raw, now=NOW)
    assert (result.at is not None, result.precision is not None, result.raw) == (trusted, trusted, raw)


def test_now_may_be_naive_or_in_another_zone() -> None:
    assert FUTURE_TOLERANCE == timedelta(days=1)
    raw = "2023-06-16T12:00:00Z"
    assert parse_published(raw, now=datetime(2023, 6, 15, 12, 0)).at is not None  # naive: UTC
    assert parse_published(raw, now=datetime(2023, 6, 15, 13, 0, tzinfo=timezone(timedelta(hours=2)))).at is None


def test_now_defaults_to_the_current_time() -> None:
    assert parse_published("2999-01-01").at is None
    assert parse_published((datetime.now(UTC) - timedelta(hours=1)).isoformat()).at is not None


@pytest.mark.parametrize(
    "raw",
    [
        "n/a", "N/A", "???", "-", "0", "unknown", "TBD", "null", "None",
        "<p>11 September 2022</p>", "<time datetime='2022-09-11'>11 Sep 2022</time>", "<br/>",
        "&nbsp;", "2022-13-01", "2022-02-30", "2022-09-11T25:00:00Z", "2022-09-11T14:05:33+25:00",
        "0000-00-00 00:00:00", "31 Feb 2022", "32 Jan 2022", "Tue, 10 Jun 2003 24:00:00 GMT",
        "Tue, 10 Jun 2003 09:41:01 XYZ", "Funday, 10 Jun 2003 09:41:01 GMT", "10 Foo 2003", "10 Ju 2003",
        "202209", "5 2022", "Vol. 5, 2022", "2022/9", "11 sep", "2022-W37", "9999999999999999999999",
        "January 1, 0001 CEST", "Dec 31, 9999 23:59 PDT", "December 31, 9999 PDT",  # overflow on conversion
        "Published on " + "very " * 40 + "recently, 11 September 2022", "x" * 10_000, "\x00\x01", "😀 2022 😀",
    ],
)  # fmt: skip
def test_garbage_keeps_raw_and_never_raises(raw: str) -> None:
    assert parse_published(raw, now=NOW) == PublishedDate(None, None, raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t"])
def test_empty_input_has_no_raw(raw: str | None) -> None:
    assert parse_published(raw, now=NOW) == PublishedDate(None, None, None)


def test_published_date_is_frozen_and_picklable() -> None:
    result = parse_published("Sun, 11 Sep 2022 14:05:00 +0200", now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.at = None  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(result)) == result  # Beam pickles elements between stages


@pytest.mark.parametrize(
    "raws, expected",
    [
        (("Sun, 11 Sep 2022 14:05:00 GMT", "2022-09-12T00:00:00Z"), ("2022-09-11T14:05", "second", 0)),
        (("n/a", "2022-09-12T00:00:00Z", "2022-09-13"), ("2022-09-12T00:00", "second", 1)),
        ((None, "", "2022-09-13"), ("2022-09-13T00:00", "day", 2)),
        (("2099-01-01", "2022-09-13"), ("2022-09-13T00:00", "day", 1)),  # untrusted published falls through
    ],
)
def test_first_date_takes_the_first_that_parses(raws: tuple, expected: tuple) -> None:
    at, precision, index = expected
    assert first_date(*raws, now=NOW) == PublishedDate(utc(at), precision, raws[index].strip())


@pytest.mark.parametrize(
    "raws, raw",
    [
        (("n/a", "???"), "n/a"),
        ((None, "  ", " unknown ", "???"), "unknown"),
        ((None, "", "   "), None),
        ((), None),
    ],
)
def test_first_date_keeps_the_first_non_empty_raw(raws: tuple, raw: str | None) -> None:
    assert first_date(*raws, now=NOW) == PublishedDate(None, None, raw)


def test_unknown_language_code_fails_loudly() -> None:
    with pytest.raises(ValueError):
        parse_published("le 3 octobre 2022 à 08h00", languages=["xx-not-a-language"], now=NOW)


def test_first_date_passes_languages_on() -> None:
    assert first_date("n/a", "11 de septiembre de 2022", languages=["es"], now=NOW).at == utc("2022-09-11T00:00")


INGESTED = datetime(2023, 6, 15, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Sun, 11 Sep 2022 14:05:33 +0200", date(2022, 9, 11)),
        ("Sun, 11 Sep 2022 23:30:00 -0500", date(2022, 9, 12)),  # the UTC day, not the local one
        ("2022-09-11T00:30:00+02:00", date(2022, 9, 10)),
        ("2022-09-11T14:05", date(2022, 9, 11)),
        ("2022-09-11", date(2022, 9, 11)),
        ("2022-09", date(2022, 9, 1)),
        ("september 2022", date(2022, 9, 1)),
        ("2022", date(2022, 1, 1)),
        ("n/a", date(2023, 6, 15)),
        ("2099-01-01", date(2023, 6, 15)),
        (None, date(2023, 6, 15)),
    ],
)
def test_partition_day(raw: str | None, expected: date) -> None:
    assert partition_day(parse_published(raw, now=NOW), INGESTED) == expected


@pytest.mark.parametrize(
    "ingested_at, expected",
    [
        (datetime(2023, 6, 15, 23, 30, tzinfo=timezone(timedelta(hours=-2))), date(2023, 6, 16)),
        (datetime(2023, 6, 16, 0, 30, tzinfo=timezone(timedelta(hours=2))), date(2023, 6, 15)),
        (datetime(2023, 6, 15, 23, 30), date(2023, 6, 15)),  # naive: UTC
    ],
)
def test_partition_day_falls_back_to_the_utc_ingestion_day(ingested_at: datetime, expected: date) -> None:
    assert partition_day(PublishedDate(None, None, "n/a"), ingested_at) == expected


def test_partition_day_truncates_coarse_precision_even_if_at_is_not() -> None:
    at = datetime(2022, 9, 11, 14, 5, tzinfo=UTC)
    assert partition_day(PublishedDate(at, "month", "x"), INGESTED) == date(2022, 9, 1)
    assert partition_day(PublishedDate(at, "year", "x"), INGESTED) == date(2022, 1, 1)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=timezone.utc)),  # pt
        ("mar, 13 dic 2022 10:00:00 +0100", datetime(2022, 12, 13, 9, 0, tzinfo=timezone.utc)),  # es
        ("Gio, 03 Ott 2019 08:00:00 +0200", datetime(2019, 10, 3, 6, 0, tzinfo=timezone.utc)),  # it
    ],
)
def test_rfc822_with_portuguese_spanish_italian_names(raw, expected):
    parsed = parse_published(raw, now=NOW)
    assert parsed.at == expected and parsed.precision == "second"
