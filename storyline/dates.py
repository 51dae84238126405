"""Dates as feeds write them, read into aware UTC datetimes.

ISO 8601 with or without a zone, RFC 2822 (RSS: ``Tue, 10 Jun 2003 04:00:00 GMT``),
``13 Jan 2025``, ``July 23, 2008``, and epoch seconds or milliseconds (UCI's news
aggregator gives epoch milliseconds). A time without a zone is taken as UTC. What is not
a full date (``yesterday``, ``May``, ``1998-14-06``) is ``None``: the caller keeps the
record and drops only the date.

>>> iso_date("Tue, 10 Jun 2003 04:00:00 GMT")
'2003-06-10T04:00:00+00:00'
>>> iso_date("1394470370698")
'2014-03-10T16:52:50+00:00'
>>> iso_date("13 Jan 2025"), iso_date("yesterday"), iso_date("1998-14-06 14:27:00")
('2025-01-13T00:00:00+00:00', None, None)
>>> iso_date("Tue, 10 Jun 2003 09:30:00 JST"), iso_date("Tue, 10 Jun 2003 09:30:00 IST")
('2003-06-10T00:30:00+00:00', None)
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

# Zone abbreviations feeds use that dateutil does not know by itself: RFC 822's (US zones)
# and others that name one offset only. One it does not know (``IST``: India, Ireland or
# Israel?) costs the date, not hours of it.
_ZONES = {name: timezone(timedelta(hours=hours)) for name, hours in {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "BST": 1,
    "AKST": -9, "AKDT": -8, "HST": -10, "WET": 0, "WEST": 1, "EET": 2, "EEST": 3,
    "MSK": 3, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13,
}.items()}
# Two defaults that differ in every field: a field missing from the text shows up as a
# difference between the two readings (``May`` alone is not a date).
_DEFAULTS = (datetime(1904, 1, 1, 0, 0, 0), datetime(1905, 2, 2, 1, 1, 1))
# Epoch numbers: past this many seconds, the number counts milliseconds (1e11 s is
# the year 5138, while 1e11 ms is 1973).
_MILLIS_FROM = 1e11
_YEARS = range(1900, 2201)  # a year outside is a misread number, not a news date
_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
# "GMT+0200" as JavaScript's Date writes it means two hours ahead of UTC; dateutil reads
# "GMT+2" POSIX's way round (two hours behind): the offset alone is unambiguous.
_UTC_PLUS = re.compile(r"\b(?:GMT|UTC|UT)\s*(?=[+-]\d)", re.IGNORECASE)
# A comment after the date (RFC 822's, or JavaScript's zone name) says nothing more.
_COMMENT = re.compile(r"\s*\([^()]*\)\s*$")
# A year written 0001 (and no other year beside it): dateutil reads it as 2001.
_EARLY_YEAR = re.compile(r"(?<![\d:+-])0\d{3}(?![\d:])")
_YEAR = re.compile(r"(?<![\d:+-])[1-9]\d{3}(?![\d:])")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= _MILLIS_FROM else number
    try:
        when = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when if when.year in _YEARS else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_date(value: object) -> datetime | None:
    """``value`` as an aware UTC datetime, or None where it is no full date."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    if text.isdigit() and len(text) >= 9 or _epoch_like(text):
        # A bare number of nine digits or more is epoch time; eight are YYYYMMDD.
        return _from_epoch(float(text))
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except OverflowError:
        return None  # 9999-12-31T23:59-14:00: past the calendar once in UTC
    except ValueError:
        if _ISO_SHAPE.match(text):
            return None  # ISO-shaped but wrong (month 14): no guessing which field is which
    return _parse_free(text)


def _epoch_like(text: str) -> bool:
    number = _number(text)
    return number is not None and "." in text and abs(number) >= 1e8


def _parse_free(text: str) -> datetime | None:
    # Imported here: stored times are ISO and never get this far, and a read command
    # should not pay dateutil's import (20 ms).
    from dateutil import parser as date_parser
    from dateutil.parser import UnknownTimezoneWarning

    text = _UTC_PLUS.sub("", _COMMENT.sub("", text))
    if _EARLY_YEAR.search(text) and not _YEAR.search(text):
        return None
    readings = []
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for default in _DEFAULTS:
            try:
                readings.append(date_parser.parse(text, default=default, tzinfos=_ZONES))
            except (ValueError, OverflowError, TypeError, date_parser.ParserError):
                return None
    if any(issubclass(w.category, UnknownTimezoneWarning) for w in said):
        return None  # a zone it does not know: dateutil would read the time as UTC
    first, second = readings
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None  # no day, month or year in the text
    if first.year not in _YEARS:
        return None
    return _utc(first)  # a missing time is midnight


def iso_date(value: object) -> str | None:
    """``value`` as ISO 8601 in UTC to the second, or None where it is no full date."""
    when = parse_date(value)
    return when.isoformat(timespec="seconds") if when is not None else None


def kept_date(value: object) -> str | None:
    """What a record keeps of a date: an ISO 8601 value as given (it is already what the
    store reads), anything else readable as ISO 8601 UTC; None where it is no date."""
    if isinstance(value, str):
        text = value.strip()
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            # (Not one that is past the calendar in UTC: no reader could compare it.)
            if not text.isdigit() and parse_date(text) is not None:
                return text
    return iso_date(value)
