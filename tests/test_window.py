"""--window: one file or stream cut into batches by published_at."""

from __future__ import annotations

import pytest

from storyline.errors import UsageError
from storyline.pipeline.window import parse_window, windowed
from storyline.types import Record


def rec(text, when=None):
    return Record(text=text, batch="news", published_at=when)


def test_records_fall_in_epoch_aligned_windows_in_arrival_order():
    records = [
        rec("undated first"),
        rec("a", "2025-01-13T05:59:00Z"),
        rec("b", "Mon, 13 Jan 2025 07:00:00 GMT"),
        rec("no date"),
        rec("late", "2025-01-13T01:00:00Z"),
        rec("c", "1736784000000"),  # 2025-01-13T16:00Z in epoch milliseconds
    ]
    out = [(r.text, r.batch) for r in windowed(records, parse_window("6h"), "news")]
    assert out == [
        ("undated first", "news-2025-01-13T0000"), ("a", "news-2025-01-13T0000"),
        ("b", "news-2025-01-13T0600"), ("no date", "news-2025-01-13T0600"),
        ("late", "news-2025-01-13T0600"), ("c", "news-2025-01-13T1200"),
    ]


def test_daily_windows_are_named_by_day_and_undated_streams_are_one_batch():
    records = [rec("a", "13 Jan 2025"), rec("b", "July 23, 2008 10:00")]
    assert [r.batch for r in windowed(records, parse_window("1d"), "f")] == [
        "f-2025-01-13", "f-2025-01-13"]  # an earlier date is a late arrival
    assert [r.batch for r in windowed([rec("x"), rec("y")], parse_window("1d"), "f")] == [
        "f-undated", "f-undated"]


@pytest.mark.parametrize("text", ["", "6", "h", "0h", "6 hours", "-1d", "1y"])
def test_bad_windows_are_usage_errors(text):
    with pytest.raises(UsageError, match="bad window"):
        parse_window(text)


def test_the_last_representable_day_opens_a_window_like_any_other():
    records = [rec("a", "9999-12-31T22:00:00Z"), rec("b", "9999-12-31T23:00:00Z"),
               rec("c", "0001-01-01T00:00:00Z")]
    assert [r.batch for r in windowed(records, parse_window("1w"), "f")] == [
        "f-9999-12-30", "f-9999-12-30", "f-9999-12-30"]
