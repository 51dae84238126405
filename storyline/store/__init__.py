"""The store behind one interface (:class:`Store`); SQLite is the embedded default.

:func:`open_store` picks the backend from what it is given, as ``Store(db)`` does: a
path opens (or creates) a SQLite file; a ``postgresql://`` URL names a server.
"""

from __future__ import annotations

import re
from pathlib import Path

from storyline.errors import StoreError
from storyline.store.base import Store

__all__ = ["Store", "StoreError", "display_url", "is_url", "open_store", "read_only_store",
           "store_exists"]

_POSTGRES = ("postgresql://", "postgres://")


def is_url(db: object) -> bool:
    """Whether ``db`` names a PostgreSQL server rather than a SQLite file.

    >>> is_url("postgresql://news@db.example/news"), is_url("news.db")
    (True, False)
    """
    return isinstance(db, str) and db.startswith(_POSTGRES)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages.

    >>> display_url("postgresql://news:secret@db.example/news")
    'postgresql://news:***@db.example/news'
    >>> display_url("postgresql://db.example/news?user=news&password=secret")
    'postgresql://db.example/news?user=news&password=***'
    """
    url = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def store_exists(db: str | Path) -> bool:
    """Whether there is a store at ``db`` to read: the file exists, or the server holds
    a storyline schema with a batch (asking creates nothing)."""
    if not is_url(db):
        return not _no_file_store(Path(db))
    from storyline.errors import NotFoundError

    try:
        with open_store(db, create=False) as store:
            return bool(store.batches())
    except NotFoundError:
        return False


def read_only_store(db: str | Path) -> bool:
    """Whether ``db`` is a SQLite store that is there but this process cannot write (on a
    read-only mount, or shared read-only): one to open with ``create=False``."""
    return not is_url(db) and not _no_file_store(Path(db)) and not _writable(Path(db))


def _no_file_store(path: Path) -> bool:
    """No file there, or an empty one (what a store's first writer starts from)."""
    return not path.exists() or (path.is_file() and path.stat().st_size == 0)


def open_store(db: str | Path, *, create: bool = True, **options: object) -> Store:
    """The store ``db`` names: a path (SQLite) or a ``postgresql://`` URL; with
    ``create=False`` one that is not there is a NotFoundError (no file made, no tables).

    >>> import tempfile
    >>> with open_store(Path(tempfile.mkdtemp()) / "news.db") as store:
    ...     type(store).__name__, store.counts()["batches"]
    ('SQLiteStore', 0)
    """
    if is_url(db):
        from storyline.store.postgres import PostgresStore

        return PostgresStore(str(db), create=create)
    if not create and _no_file_store(Path(db)):
        from storyline.errors import NotFoundError  # (an empty file is no store yet either)

        raise NotFoundError(f"no store at {db}")
    from storyline.store.sqlite import SQLiteStore

    if not create and not _writable(Path(db)):
        options.setdefault("read_only", True)
    return SQLiteStore(db, **options)  # type: ignore[arg-type]


def _writable(path: Path) -> bool:
    """Whether a reader could open the store's file for writing and make its write-ahead
    log's files beside it (a read-only mount or a file shared read-only: not)."""
    import os

    folder = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)
