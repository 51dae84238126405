"""The store behind one interface (:class:`Store`); SQLite is the embedded default.

:func:`open_store` picks the backend from what it is given, as ``Store(db)`` does: a
path opens (or creates) a SQLite file; a ``postgresql://`` URL names a server.
"""

from __future__ import annotations

from pathlib import Path

from storyline.errors import StoreError
from storyline.store.base import Store

__all__ = ["Store", "StoreError", "open_store"]

_POSTGRES = ("postgresql://", "postgres://")


def open_store(db: str | Path, **options: object) -> Store:
    """The store ``db`` names: a path (SQLite) or a ``postgresql://`` URL.

    >>> open_store("postgresql://localhost/news")
    Traceback (most recent call last):
    ...
    storyline.errors.StoreError: postgresql://localhost/news: PostgreSQL support not installed
    """
    if isinstance(db, str) and db.startswith(_POSTGRES):
        raise StoreError(f"{db}: PostgreSQL support not installed")
    from storyline.store.sqlite import SQLiteStore

    return SQLiteStore(db, **options)  # type: ignore[arg-type]
