"""Hive partition paths. Values are validated here so nothing read from a feed can shape a file path."""

from __future__ import annotations

import datetime as dt
import re

_LANG = re.compile(r"^[a-z]{2,3}$")
UNDETERMINED = "und"


def safe_language(value: str | None) -> str:
    """The `lang=` value: a 2-3 letter lower-case code, else `und`."""
    return value if value and _LANG.match(value) else UNDETERMINED


def safe_day(value: dt.date | str) -> str:
    """The `date=` value as YYYY-MM-DD; anything else is a programming error, not input."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return day.isoformat()


def article_partition(row: dict) -> str:
    return f"date={safe_day(row['partition_date'])}/lang={safe_language(row['language'])}"


def error_partition(row: dict) -> str:
    return f"date={safe_day(row['at'].date())}"
