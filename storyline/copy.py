"""``storyline copy``: one store into another, whole: SQLite to PostgreSQL, back, or
SQLite to SQLite.

Every table is read in one snapshot of the source and written in one transaction of the
target, ids and all, so the copy answers every question as the source does (the same
stories, batches, search results, facts) and takes further batches where it left off.
"""

from __future__ import annotations

from pathlib import Path

from storyline.errors import NotFoundError, UsageError
from storyline.store import is_url, open_store, store_exists
from storyline.store.base import COPIED_TABLES


def copy_store(source: str | Path, target: str | Path) -> dict[str, int]:
    """Copy the store at ``source`` into the new or empty store at ``target``; returns
    the target's counts (the same as the source's)."""
    if str(source) == str(target) or (
            not is_url(source) and not is_url(target)
            and Path(target).exists() and Path(source).resolve() == Path(target).resolve()):
        raise UsageError(f"{source}: copying a store onto itself")
    if not store_exists(source):
        raise NotFoundError(f"no store at {source}")
    with open_store(source, create=False) as src, open_store(target) as dst:
        with src.snapshot(), dst.transaction():
            # Under the target's writer lock: two copies into one empty store, one fails.
            if dst.has_snippets() or dst.batches():
                raise UsageError(f"{dst.path} already holds a store: copy into a new or "
                                 "empty one")
            for table, columns in COPIED_TABLES.items():
                rows = iter(src.table_rows(table, columns))
                try:
                    dst.insert_rows(table, columns, rows)
                finally:  # a reader left open on a failure would outlive its store
                    getattr(rows, "close", lambda: None)()
            expected = src.counts()
        copied = dst.counts()
        if copied != expected:  # cannot happen short of a bug: say so rather than pass
            raise UsageError(f"copy of {src.path} into {dst.path} is incomplete: "
                             f"{copied} against {expected}")
        return copied
