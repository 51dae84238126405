"""SQLite's errors as storyline's: one line a user can act on, with its exit code.

``database is locked`` past the busy timeout is :class:`StoreBusyError` (exit 5, HTTP
503: try again), ``database or disk is full`` is :class:`DiskFullError` (the batch's
transaction rolled back: nothing of it was written), a damaged file or one that is not
a store is :class:`StoreError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storyline.config import busy_timeout_from_env
from storyline.errors import DiskFullError, StoreError, StorylineError
from storyline.store.base import busy_error

busy_timeout = busy_timeout_from_env  # what the store waits (re-exported for it)

def translate(exc: sqlite3.Error, path: Path | str, timeout: float | None = None
              ) -> StorylineError:
    """The storyline error an SQLite error stands for."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return busy_error(path, timeout)
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return DiskFullError(f"{path}: the disk is full; nothing of this batch was written: "
                             "free some space and run the same command again")
    if "malformed" in lowered or "not a database" in lowered:
        return StoreError(f"{path}: not a storyline store, or a damaged one ({text})")
    if "readonly" in lowered or "unable to open" in lowered or "i/o error" in lowered:
        return StoreError(f"{path}: the store cannot be written ({text})")
    return StoreError(f"{path}: {text}")


@contextmanager
def guarded(path: Path | str, timeout: float | None = None) -> Iterator[None]:
    """SQLite errors inside become storyline errors (see :func:`translate`)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path, timeout) from None
