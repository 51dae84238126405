"""Cutting one file or stream into batches by time (``--window 6h``).

A window is a span of ``published_at`` aligned on the epoch (``1d`` windows start at
midnight UTC), so the same records always fall in the same windows, whichever file
brought them. Records are windowed in arrival order, as a feed delivers them: a record
dated after the current window opens the next one; a late record (dated before the
current window) and a record without a date join the batch of the record before them.

>>> parse_window("6h"), parse_window("1d"), parse_window("90m")
(datetime.timedelta(seconds=21600), datetime.timedelta(days=1), datetime.timedelta(seconds=5400))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from storyline.dates import parse_date
from storyline.errors import UsageError
from storyline.types import Record

_SPAN = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Leading records without a date wait for the first dated one (to join its window) up
# to this many; past it they are a batch of their own.
MAX_WAITING = 10_000


def parse_window(text: str) -> timedelta:
    """``30m``, ``6h``, ``1d``, ``2w`` (or seconds, ``90s``) as a timedelta."""
    match = _SPAN.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"bad window {text!r}: a number and a unit, s, m, h, d or w "
                         "(6h, 1d, 2w)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])


def window_start(when: datetime, window: timedelta) -> datetime:
    """The start of the window holding ``when`` (aligned on the epoch)."""
    span = int(window.total_seconds())
    seconds = int((when - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % span)


def window_name(base: str, start: datetime, window: timedelta) -> str:
    """``base-2025-01-13`` for whole-day windows, ``base-2025-01-13T0600`` otherwise."""
    daily = int(window.total_seconds()) % 86400 == 0
    return f"{base}-{start:%Y-%m-%d}" if daily else f"{base}-{start:%Y-%m-%dT%H%M}"


def windowed(records: Iterable[Record], window: timedelta, base: str) -> Iterator[Record]:
    """The records with ``batch`` set to their window's name, in arrival order."""
    current: datetime | None = None
    name: str | None = None
    waiting: list[Record] = []
    for record in records:
        when = parse_date(record.published_at)
        # ``when - current`` rather than ``current + window``: the window after 9999-12-31
        # is past datetime.max.
        if when is not None and (current is None or when - current >= window):
            current = window_start(when, window)
            name = window_name(base, current, window)
        if name is None:
            waiting.append(record)
            if len(waiting) >= MAX_WAITING:  # no date in sight: a batch of their own
                name = f"{base}-undated"
                yield from _named(waiting, name)
                waiting = []
            continue
        if waiting:
            yield from _named(waiting, name)
            waiting = []
        record.batch = name
        yield record
    yield from _named(waiting, name or f"{base}-undated")


def _named(records: list[Record], name: str) -> Iterator[Record]:
    for record in records:
        record.batch = name
        yield record
