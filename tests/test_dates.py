"""Dates as feeds write them (storyline.dates): every common form, and what is none."""

from __future__ import annotations

import pytest

from storyline.dates import iso_date, kept_date

FORMS = [
    ("2025-01-13T06:00:00Z", "2025-01-13T06:00:00+00:00"),
    ("2025-01-13T06:00:00+02:00", "2025-01-13T04:00:00+00:00"),
    ("2025-01-13 06:00", "2025-01-13T06:00:00+00:00"),
    ("2025-01-13", "2025-01-13T00:00:00+00:00"),
    ("20250113T0600Z", "2025-01-13T06:00:00+00:00"),
    ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00+00:00"),
    ("Wed, 02 Oct 2002 13:00:00 -0400", "2002-10-02T17:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 EST", "2025-01-13T15:00:00+00:00"),
    ("13 Jan 2025", "2025-01-13T00:00:00+00:00"),
    ("July 23, 2008", "2008-07-23T00:00:00+00:00"),
    ("Jan 13 2025 6:00PM", "2025-01-13T18:00:00+00:00"),
    ("1394470370", "2014-03-10T16:52:50+00:00"),
    ("1394470370698", "2014-03-10T16:52:50+00:00"),
    (1394470370698, "2014-03-10T16:52:50+00:00"),
    (1394470370.5, "2014-03-10T16:52:50+00:00"),
    # JavaScript's Date.toString() and "GMT+2": ahead of UTC, not POSIX's way round.
    ("Mon Jan 13 2025 10:00:00 GMT+0200 (Central European Standard Time)",
     "2025-01-13T08:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 GMT+2", "2025-01-13T08:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 UTC-0500", "2025-01-13T15:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 +0530 (IST)", "2025-01-13T04:30:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 JST", "2025-01-13T01:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 AEDT", "2025-01-12T23:00:00+00:00"),
]


@pytest.mark.parametrize("value,expected", FORMS)
def test_common_forms_read_as_utc(value, expected):
    assert iso_date(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "1998-14-06 14:27:00", "2025-13-01", "May",
                                   "12", "the deal closed on 13 Jan", "", "nan", "1e300",
                                   "Mon, 01 Jan 0001 00:00:00 GMT",  # not 2001
                                   "\x00", None, True, {"a": 1}, "x" * 500])
def test_what_is_no_full_date_is_none(value):
    assert iso_date(value) is None


@pytest.mark.parametrize("value", ["Mon, 13 Jan 2025 10:00:00 IST",
                                   "Mon, 13 Jan 2025 10:00:00 XYZ"])
def test_a_zone_it_does_not_know_costs_the_date_not_hours_of_it(value):
    # IST is India's, Ireland's or Israel's: read as UTC it was up to 5.5 hours off.
    assert iso_date(value) is None


def test_iso_dates_are_kept_as_given():
    assert kept_date("2025-01-13T06:00:00Z") == "2025-01-13T06:00:00Z"
    assert kept_date("13 Jan 2025") == "2025-01-13T00:00:00+00:00"
